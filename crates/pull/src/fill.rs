//! Filling a query's gaps: plan the fetches against coverage, run them concurrently with bounded
//! parallelism, store their rows, then record their coverage, each gap fetched once however
//! many queries in this process need it at the same time.
//!
//! A query's gaps are split against the fetches other queries have in flight: it fetches the
//! parts nobody is fetching and waits for the rest, then plans again (a fetch it waited for may
//! have failed; then it fetches that part itself). Coverage is recorded only after the rows are
//! stored, so a crash between the two refetches rather than loses rows. A failed fetch fails the
//! query with its key and interval; the fetches that succeeded stay stored and covered, the
//! failed interval stays uncovered. A query dropped midway withdraws its fetches in flight, and
//! whoever waited for them fetches them.

use std::collections::HashMap;
use std::fmt::Debug;
use std::future::Future;
use std::hash::Hash;
use std::sync::{Mutex, PoisonError};
use std::time::Duration;

use cacheness_format::Invalid;

use deltalake::arrow::array::RecordBatch;
use futures::StreamExt;
use tokio::sync::watch;

use crate::coverage::{Fetched, Freshness, KeyCoverage};
use crate::fetch::{FetchError, FetchRequest, Fetcher};
use crate::interval::{Granularity, Interval, RangeKind, subtract};

/// How a table fills its gaps.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FillOptions {
    /// What the range column holds.
    pub kind: RangeKind,
    /// The unit fetches are aligned to.
    pub granularity: Granularity,
    /// How long a fetch counts (`None`: forever).
    pub ttl: Option<Duration>,
    /// The length of the volatile window, in ticks: ticks after `now - window` (`now` as a tick
    /// of `kind`) are never final. `None`: no window (historical data; integer ranges have
    /// no "now" and ignore it).
    pub volatile_window: Option<i64>,
    /// The most fetches running at once.
    pub parallelism: usize,
}

impl FillOptions {
    /// The coverage record of a fetch of `interval` made at `now` (µs since the epoch): valid
    /// for the TTL from then.
    pub fn fetched(&self, interval: Interval, now: i64) -> Fetched {
        Fetched {
            interval,
            fetched_at: now,
            valid_until: self
                .ttl
                .map(|t| now.saturating_add(i64::try_from(t.as_micros()).unwrap_or(i64::MAX))),
        }
    }
}

impl Default for FillOptions {
    fn default() -> Self {
        FillOptions {
            kind: RangeKind::Integer,
            granularity: Granularity::TICK,
            ttl: None,
            volatile_window: None,
            parallelism: 8,
        }
    }
}

/// One fetch's answer, handed to the store: the request, its rows and its coverage record.
#[derive(Debug, Clone)]
pub struct Stored<K> {
    /// What was asked.
    pub request: FetchRequest<K>,
    /// What the source answered (possibly no rows).
    pub rows: RecordBatch,
    /// The coverage to record once the rows are kept.
    pub fetched: Fetched,
}

/// What a fill fetched.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FillReport<K> {
    /// The fetches this query ran, in the order they finished.
    pub fetched: Vec<FetchRequest<K>>,
    /// How many fetches of other queries it waited for.
    pub waited: usize,
}

/// Why a fill failed.
#[derive(Debug, Clone, thiserror::Error)]
pub enum FillError {
    /// A fetch failed (its interval stays uncovered).
    #[error(transparent)]
    Fetch(#[from] FetchError),
    /// Storing a fetch's rows failed (its interval stays uncovered).
    #[error(
        "storing the rows of {key}{} failed: {reason}",
        crate::fetch::shown_interval(.interval, .shown.as_deref())
    )]
    Store {
        /// The key, as text.
        key: String,
        /// The interval.
        interval: Interval,
        /// The interval as the range column reads it, once known (see [`FetchError`]).
        shown: Option<String>,
        /// Why.
        reason: String,
    },
}

impl FillError {
    /// The error with its interval shown as `show` writes it (the range column's own type,
    /// as `EXPLAIN` shows it) instead of in ticks.
    pub fn shown(self, show: impl Fn(Interval) -> String) -> Self {
        match self {
            FillError::Fetch(mut e) => {
                e.shown = Some(show(e.interval));
                FillError::Fetch(e)
            }
            FillError::Store {
                key,
                interval,
                reason,
                ..
            } => FillError::Store {
                key,
                shown: Some(show(interval)),
                interval,
                reason,
            },
        }
    }
}

struct InFlight {
    interval: Interval,
    owner: u64,
    /// Set to true when the fetch's rows are stored and covered; dropped when it ends.
    done: watch::Sender<bool>,
}

/// A fetch of another query this one waits for.
struct Wait<K> {
    key: K,
    interval: Interval,
    done: watch::Receiver<bool>,
}

struct State<K> {
    coverage: HashMap<K, KeyCoverage>,
    in_flight: HashMap<K, Vec<InFlight>>,
    next_owner: u64,
}

impl<K: Eq + Hash> State<K> {
    /// The gaps of `key` over `want` (all of it for a key never fetched).
    fn gaps(&self, key: &K, want: Interval, opts: &FillOptions, at: Freshness) -> Vec<Interval> {
        self.coverage.get(key).map_or_else(
            || vec![opts.granularity.align_out(want)],
            |c| c.gaps(want, opts.granularity, at),
        )
    }
}

/// The coverage of a table's keys and the fetches in flight for them.
pub struct Filler<K> {
    state: Mutex<State<K>>,
}

impl<K> Default for Filler<K> {
    fn default() -> Self {
        Filler {
            state: Mutex::new(State {
                coverage: HashMap::new(),
                in_flight: HashMap::new(),
                next_owner: 0,
            }),
        }
    }
}

/// Now: µs since the epoch.
pub fn now_micros() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_micros()).unwrap_or(i64::MAX))
}

impl<K> Filler<K> {
    fn lock(&self) -> std::sync::MutexGuard<'_, State<K>> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// Withdraws a query's fetches still in flight when it ends, however it ends.
struct Withdraw<'a, K: Eq + Hash> {
    filler: &'a Filler<K>,
    owner: u64,
}

impl<K: Eq + Hash> Drop for Withdraw<'_, K> {
    fn drop(&mut self) {
        let mut state = self.filler.lock();
        for list in state.in_flight.values_mut() {
            // Dropping a sender wakes its waiters.
            list.retain(|f| f.owner != self.owner);
        }
        state.in_flight.retain(|_, list| !list.is_empty());
    }
}

impl<K> Filler<K>
where
    K: Clone + Eq + Hash + Debug + Send + Sync,
{
    /// No coverage yet.
    pub fn new() -> Self {
        Filler::default()
    }

    /// Start from stored coverage.
    pub fn with_coverage(coverage: HashMap<K, KeyCoverage>) -> Self {
        let f = Filler::new();
        f.lock().coverage = coverage;
        f
    }

    /// Take `coverage` (read from the durable record, which holds everything this process
    /// recorded and what other processes did) for the keys it names.
    pub fn refresh(&self, coverage: HashMap<K, KeyCoverage>) {
        self.lock().coverage.extend(coverage);
    }

    /// A copy of one key's coverage.
    pub fn coverage(&self, key: &K) -> KeyCoverage {
        self.lock().coverage.get(key).cloned().unwrap_or_default()
    }

    /// Forget the coverage of `interval` of `key` (it will be fetched again).
    pub fn invalidate(&self, key: &K, interval: Interval) {
        if let Some(c) = self.lock().coverage.get_mut(key) {
            c.invalidate(interval);
        }
    }

    /// The fetches a query for `keys` over `want` needs now (for `EXPLAIN`; ignores fetches
    /// in flight).
    pub fn plan(&self, keys: &[K], want: Interval, opts: &FillOptions) -> Vec<FetchRequest<K>> {
        let at = freshness(opts, now_micros());
        let state = self.lock();
        keys.iter()
            .flat_map(|key| {
                state
                    .gaps(key, want, opts, at)
                    .into_iter()
                    .map(|interval| FetchRequest {
                        key: key.clone(),
                        interval,
                    })
            })
            .collect()
    }

    /// Fetch what `keys` over `want` are missing with `fetcher`, hand the rows and coverage
    /// records of the fetches that succeeded to `store` (to keep both durably, rows first),
    /// together, once per round of fetches, so a fill of many keys commits once, not once per
    /// key; then record the coverage in memory.
    pub async fn fill<F, S, SF>(
        &self,
        keys: &[K],
        want: Interval,
        opts: &FillOptions,
        fetcher: &F,
        store: S,
    ) -> Result<FillReport<K>, FillError>
    where
        F: Fetcher<K>,
        S: Fn(Vec<Stored<K>>) -> SF,
        SF: Future<Output = Result<(), Invalid>>,
    {
        let owner = {
            let mut state = self.lock();
            state.next_owner += 1;
            state.next_owner
        };
        let _withdraw = Withdraw {
            filler: self,
            owner,
        };
        let mut report = FillReport {
            fetched: Vec::new(),
            waited: 0,
        };
        // What this query has fetched or seen fetched: never asked for again by it, even where
        // coverage does not count it (the volatile window).
        let mut settled: HashMap<K, Vec<Interval>> = HashMap::new();
        loop {
            let now = now_micros();
            let (mine, waits) = self.claim(keys, want, opts, now, owner, &settled);
            if mine.is_empty() && waits.is_empty() {
                return Ok(report);
            }
            let answers: Vec<(FetchRequest<K>, Result<RecordBatch, FetchError>)> =
                futures::stream::iter(mine)
                    .map(|req| async {
                        let answer = fetcher.fetch(&req).await;
                        (req, answer)
                    })
                    .buffer_unordered(opts.parallelism.max(1))
                    .collect()
                    .await;
            let mut results: Vec<(FetchRequest<K>, Result<(), FillError>)> = Vec::new();
            let mut batch = Vec::new();
            for (req, answer) in answers {
                match answer {
                    Ok(rows) => batch.push(Stored {
                        fetched: opts.fetched(req.interval, now),
                        request: req,
                        rows,
                    }),
                    Err(e) => results.push((req, Err(FillError::Fetch(e)))),
                }
            }
            let requests: Vec<FetchRequest<K>> = batch.iter().map(|s| s.request.clone()).collect();
            let stored = if batch.is_empty() {
                Ok(())
            } else {
                store(batch).await
            };
            for req in requests {
                let result = stored.clone().map_err(|reason| FillError::Store {
                    key: format!("{:?}", req.key),
                    interval: req.interval,
                    shown: None,
                    reason: reason.to_string(),
                });
                results.push((req, result));
            }
            let mut first_error = None;
            {
                let mut state = self.lock();
                for (req, result) in results {
                    match result {
                        Ok(()) => {
                            state
                                .coverage
                                .entry(req.key.clone())
                                .or_default()
                                .record(opts.fetched(req.interval, now));
                            settled
                                .entry(req.key.clone())
                                .or_default()
                                .push(req.interval);
                            report.fetched.push(req.clone());
                            if let Some(f) = state.in_flight.get(&req.key).and_then(|list| {
                                list.iter()
                                    .find(|f| f.owner == owner && f.interval == req.interval)
                            }) {
                                f.done.send_replace(true);
                            }
                        }
                        Err(e) => {
                            first_error.get_or_insert(e);
                        }
                    }
                    if let Some(list) = state.in_flight.get_mut(&req.key) {
                        list.retain(|f| !(f.owner == owner && f.interval == req.interval));
                    }
                }
                state.in_flight.retain(|_, list| !list.is_empty());
            }
            if let Some(e) = first_error {
                return Err(e);
            }
            report.waited += waits.len();
            for mut w in waits {
                // Resolves when the fetch's owner drops its sender (done, failed or gone).
                while w.done.changed().await.is_ok() {}
                if *w.done.borrow() {
                    settled.entry(w.key).or_default().push(w.interval);
                }
            }
            for list in settled.values_mut() {
                list.sort();
            }
        }
    }

    /// Under the lock: this query's gaps, split into the parts it now owns (registered as in
    /// flight) and the fetches of others it must wait for.
    fn claim(
        &self,
        keys: &[K],
        want: Interval,
        opts: &FillOptions,
        now: i64,
        owner: u64,
        settled: &HashMap<K, Vec<Interval>>,
    ) -> (Vec<FetchRequest<K>>, Vec<Wait<K>>) {
        let at = freshness(opts, now);
        let mut state = self.lock();
        let mut mine = Vec::new();
        let mut waits = Vec::new();
        for key in keys {
            let gaps = state.gaps(key, want, opts, at);
            let gaps: Vec<Interval> = match settled.get(key) {
                Some(done) => gaps.into_iter().flat_map(|g| subtract(g, done)).collect(),
                None => gaps,
            };
            let list = state.in_flight.entry(key.clone()).or_default();
            let mut busy: Vec<Interval> = Vec::new();
            for f in list.iter() {
                if gaps.iter().any(|g| g.intersect(&f.interval).is_some()) {
                    busy.push(f.interval);
                    waits.push(Wait {
                        key: key.clone(),
                        interval: f.interval,
                        done: f.done.subscribe(),
                    });
                }
            }
            busy.sort();
            for gap in gaps {
                for interval in subtract(gap, &busy) {
                    let (done, _) = watch::channel(false);
                    list.push(InFlight {
                        interval,
                        owner,
                        done,
                    });
                    mine.push(FetchRequest {
                        key: key.clone(),
                        interval,
                    });
                }
            }
        }
        state.in_flight.retain(|_, list| !list.is_empty());
        (mine, waits)
    }
}

/// When gaps are judged: validity at `now`, the volatile window before `now` as a tick.
/// The volatile window of `w` ticks is the last `w` ticks up to and including now's (for dates,
/// a window of 2 is yesterday and today).
fn freshness(opts: &FillOptions, now: i64) -> Freshness {
    Freshness {
        now,
        final_before: opts.volatile_window.and_then(|w| {
            opts.kind
                .now_tick(now)
                .map(|t| t.saturating_sub(w.saturating_sub(1)))
        }),
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};

    use deltalake::arrow::array::{ArrayRef, Int64Array, RecordBatch};

    use super::*;
    use crate::fetch::from_fn;

    fn iv(a: i64, b: i64) -> Interval {
        Interval::new(a, b).unwrap()
    }

    /// One row per tick of the interval (none for key "holiday"), after `delay`; fails for
    /// key "broken".
    fn rows(req: &FetchRequest<String>) -> Result<RecordBatch, FetchError> {
        if req.key == "broken" {
            return Err(FetchError::of(req, "HTTP 503"));
        }
        let ticks: Vec<i64> = if req.key == "holiday" {
            Vec::new()
        } else {
            (req.interval.start..req.interval.end).collect()
        };
        RecordBatch::try_from_iter([("t", Arc::new(Int64Array::from(ticks)) as ArrayRef)])
            .map_err(|e| FetchError::of(req, e))
    }

    /// A fetcher that logs every request, sleeps `delay` and tracks the most at once.
    #[derive(Default)]
    struct Source {
        log: Mutex<Vec<(String, Interval)>>,
        running: AtomicUsize,
        most: AtomicUsize,
        delay_ms: u64,
    }

    impl Fetcher<String> for Source {
        async fn fetch(&self, req: &FetchRequest<String>) -> Result<RecordBatch, FetchError> {
            self.log
                .lock()
                .unwrap()
                .push((req.key.clone(), req.interval));
            let now = self.running.fetch_add(1, Ordering::SeqCst) + 1;
            self.most.fetch_max(now, Ordering::SeqCst);
            tokio::time::sleep(Duration::from_millis(self.delay_ms)).await;
            self.running.fetch_sub(1, Ordering::SeqCst);
            rows(req)
        }
    }

    impl Source {
        fn slow(ms: u64) -> Self {
            Source {
                delay_ms: ms,
                ..Default::default()
            }
        }

        fn take_log(&self) -> Vec<(String, Interval)> {
            let mut log = std::mem::take(&mut *self.log.lock().unwrap());
            log.sort();
            log
        }
    }

    async fn stored(_: Vec<Stored<String>>) -> Result<(), Invalid> {
        Ok(())
    }

    fn keys(k: &[&str]) -> Vec<String> {
        k.iter().map(|s| s.to_string()).collect()
    }

    /// A fill of key `k` over `range` with default options, on a task of its own.
    fn spawn_fill(
        f: &Arc<Filler<String>>,
        src: &Arc<Source>,
        range: Interval,
    ) -> tokio::task::JoinHandle<Result<FillReport<String>, FillError>> {
        let (f, src) = (f.clone(), src.clone());
        tokio::spawn(async move {
            f.fill(&keys(&["k"]), range, &FillOptions::default(), &*src, stored)
                .await
        })
    }

    #[tokio::test]
    async fn only_the_gaps_are_fetched_holes_included() {
        let f = Filler::new();
        let src = Source::default();
        let o = FillOptions::default();
        let aapl = keys(&["AAPL"]);
        f.fill(&aapl, iv(1, 11), &o, &src, stored).await.unwrap();
        f.fill(&aapl, iv(20, 31), &o, &src, stored).await.unwrap();
        src.take_log();
        // Cached 1-10 and 20-30: a query for 5-15 fetches 11-15 only...
        let r = f.fill(&aapl, iv(5, 16), &o, &src, stored).await.unwrap();
        assert_eq!(src.take_log(), [("AAPL".into(), iv(11, 16))]);
        assert_eq!(r.fetched.len(), 1);
        // ...and then 1-30 fetches the hole 16-19 only.
        f.fill(&aapl, iv(1, 31), &o, &src, stored).await.unwrap();
        assert_eq!(src.take_log(), [("AAPL".into(), iv(16, 20))]);
        f.fill(&aapl, iv(1, 31), &o, &src, stored).await.unwrap();
        assert!(src.take_log().is_empty(), "all covered: nothing fetched");
    }

    #[tokio::test]
    async fn both_sides_of_the_cached_span_are_fetched_in_parallel() {
        let f = Filler::new();
        let src = Source::slow(50);
        let o = FillOptions::default();
        f.fill(&keys(&["k"]), iv(5, 11), &o, &src, stored)
            .await
            .unwrap();
        src.take_log();
        src.most.store(0, Ordering::SeqCst);
        f.fill(&keys(&["k"]), iv(1, 21), &o, &src, stored)
            .await
            .unwrap();
        assert_eq!(
            src.take_log(),
            [("k".into(), iv(1, 5)), ("k".into(), iv(11, 21))]
        );
        assert_eq!(src.most.load(Ordering::SeqCst), 2, "both at once");
        // With parallelism 1, one at a time.
        let serial = FillOptions {
            parallelism: 1,
            ..o
        };
        src.most.store(0, Ordering::SeqCst);
        f.fill(&keys(&["a", "b", "c"]), iv(1, 3), &serial, &src, stored)
            .await
            .unwrap();
        assert_eq!(src.most.load(Ordering::SeqCst), 1);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn eight_identical_queries_fetch_once() {
        let f = Arc::new(Filler::new());
        let src = Arc::new(Source::slow(100));
        let tasks: Vec<_> = (0..8).map(|_| spawn_fill(&f, &src, iv(0, 10))).collect();
        let mut waited = 0;
        for t in tasks {
            waited += t.await.unwrap().unwrap().waited;
        }
        assert_eq!(src.take_log(), [("k".into(), iv(0, 10))]);
        assert_eq!(waited, 7);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn an_overlapping_query_fetches_only_what_is_not_in_flight() {
        let f = Arc::new(Filler::new());
        let src = Arc::new(Source::slow(200));
        let first = spawn_fill(&f, &src, iv(0, 20));
        tokio::time::sleep(Duration::from_millis(50)).await;
        let r = f
            .fill(
                &keys(&["k"]),
                iv(10, 30),
                &FillOptions::default(),
                &*src,
                stored,
            )
            .await
            .unwrap();
        first.await.unwrap().unwrap();
        assert_eq!(
            src.take_log(),
            [("k".into(), iv(0, 20)), ("k".into(), iv(20, 30))]
        );
        assert_eq!(r.waited, 1);
    }

    #[tokio::test]
    async fn a_failed_fetch_fails_the_query_and_stays_uncovered() {
        let f = Filler::new();
        let src = Source::default();
        let o = FillOptions::default();
        let err = f
            .fill(&keys(&["ok", "broken"]), iv(0, 10), &o, &src, stored)
            .await
            .unwrap_err();
        let text = err.to_string();
        assert!(
            text.contains("broken") && text.contains("[0, 10)") && text.contains("503"),
            "{text}"
        );
        assert_eq!(
            f.coverage(&"ok".into()).spans().len(),
            1,
            "the good key stays covered"
        );
        assert!(f.coverage(&"broken".into()).spans().is_empty());
        src.take_log();
        let _ = f
            .fill(&keys(&["ok", "broken"]), iv(0, 10), &o, &src, stored)
            .await;
        assert_eq!(
            src.take_log(),
            [("broken".into(), iv(0, 10))],
            "only the failed range again"
        );
    }

    #[tokio::test]
    async fn a_store_failure_leaves_the_range_uncovered() {
        let f = Filler::new();
        let src = Source::default();
        let err = f
            .fill(
                &keys(&["k"]),
                iv(0, 5),
                &FillOptions::default(),
                &src,
                |_| async { Err("disk full".into()) },
            )
            .await
            .unwrap_err();
        assert!(err.to_string().contains("disk full"), "{err}");
        assert!(f.coverage(&"k".into()).spans().is_empty());
    }

    #[tokio::test]
    async fn an_empty_answer_is_covered_until_its_ttl_ends() {
        let f = Filler::new();
        let src = Source::default();
        let o = FillOptions {
            ttl: Some(Duration::from_millis(300)),
            ..FillOptions::default()
        };
        let holiday = keys(&["holiday"]);
        f.fill(&holiday, iv(0, 3), &o, &src, stored).await.unwrap();
        f.fill(&holiday, iv(0, 3), &o, &src, stored).await.unwrap();
        assert_eq!(src.take_log().len(), 1, "no rows, but covered");
        tokio::time::sleep(Duration::from_millis(350)).await;
        f.fill(&holiday, iv(0, 3), &o, &src, stored).await.unwrap();
        assert_eq!(src.take_log().len(), 1, "expired: fetched again");
    }

    #[tokio::test]
    async fn the_volatile_window_is_fetched_every_time() {
        let f = Filler::new();
        let src = Source::default();
        let today = RangeKind::Date.now_tick(now_micros()).unwrap();
        let o = FillOptions {
            kind: RangeKind::Date,
            volatile_window: Some(2),
            ..FillOptions::default()
        };
        let k = keys(&["k"]);
        let want = iv(today - 10, today + 1);
        f.fill(&k, want, &o, &src, stored).await.unwrap();
        src.take_log();
        f.fill(&k, want, &o, &src, stored).await.unwrap();
        assert_eq!(
            src.take_log(),
            [("k".into(), iv(today - 1, today + 1))],
            "a window of 2 days: yesterday and today, nothing older"
        );
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_dropped_query_hands_its_fetches_to_those_waiting() {
        let f = Arc::new(Filler::new());
        let src = Arc::new(Source::slow(300));
        let first = spawn_fill(&f, &src, iv(0, 5));
        tokio::time::sleep(Duration::from_millis(50)).await;
        let second = spawn_fill(&f, &src, iv(0, 5));
        tokio::time::sleep(Duration::from_millis(50)).await;
        first.abort();
        let r = second.await.unwrap().unwrap();
        assert_eq!(
            r.fetched,
            [FetchRequest {
                key: "k".to_string(),
                interval: iv(0, 5)
            }]
        );
        assert_eq!(f.coverage(&"k".into()).spans().len(), 1);
    }

    #[tokio::test]
    async fn plan_lists_the_fetches_a_query_needs() {
        let f = Filler::new();
        let src = from_fn(|req: FetchRequest<String>| async move { rows(&req) });
        let o = FillOptions::default();
        f.fill(&keys(&["a"]), iv(0, 10), &o, &src, stored)
            .await
            .unwrap();
        let plan = f.plan(&keys(&["a", "b"]), iv(5, 15), &o);
        assert_eq!(
            plan,
            [
                FetchRequest {
                    key: "a".to_string(),
                    interval: iv(10, 15)
                },
                FetchRequest {
                    key: "b".to_string(),
                    interval: iv(5, 15)
                },
            ]
        );
    }
}
