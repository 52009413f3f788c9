//! The group commit: a background thread that turns journaled operations into one Delta commit
//! per batch (bounded by rows and by time), and serves the catalog reads that need Delta.
//!
//! The thread owns a single-threaded tokio runtime and the Delta table handle, so callers need
//! no runtime of their own: the blocking API waits on a channel, the async API awaits one.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use crate::CatalogPlace;
use crate::commit_round::{self, Batch};
use crate::delta::DeltaCatalog;
use crate::error::{CatalogError, Result};
use crate::journal::{self, JournalWriter};
use crate::row::{CatalogOp, CatalogRow, PayloadProbe};
use cacheness_storage::{Location, LockFile};

/// Stack size of the committer thread (reserved address space; only touched pages cost memory).
const COMMITTER_STACK: usize = 64 << 20;
/// How long a process runs before its committer opens the Delta table when it has nothing to
/// commit (to replay the journals of dead writers in the background).
const IDLE_OPEN_AFTER: Duration = Duration::from_millis(500);
/// Pause before retrying a failed commit or table open.
const RETRY_AFTER: Duration = Duration::from_secs(1);
/// Run a full maintenance pass (checkpoint, log cleanup, vacuum) after this many commits;
/// compaction alone runs every 8.
const MAINTAIN_EVERY: usize = 100;
/// How long a commit round waits for another process's round to end before it commits
/// without the lock (`crate::journal::lock_commits`).
const LOCK_PATIENCE: Duration = Duration::from_secs(5);
/// A closing process leaves its rows only to a process that commits at least this often, so
/// that they reach the Delta table within it (`crate::journal::committer_to_come`).
pub const LEAVE_WITHIN: Duration = Duration::from_secs(5);

/// How a reply reaches a caller: a blocking caller waits on a std channel, an async caller on a
/// tokio oneshot.
pub(crate) enum Reply<T> {
    Blocking(std::sync::mpsc::Sender<T>),
    Async(tokio::sync::oneshot::Sender<T>),
}

impl<T> Reply<T> {
    fn send(self, value: T) {
        match self {
            Reply::Blocking(tx) => {
                let _ = tx.send(value);
            }
            Reply::Async(tx) => {
                let _ = tx.send(value);
            }
        }
    }
}

/// Work the committer does on behalf of a caller.
pub(crate) enum Request {
    /// Commit everything journaled so far. `closing`: the flush of a closing process, which
    /// may leave its segments to another process that will commit
    /// (`journal::committer_to_come`), and answers once they are committed or left.
    Flush {
        reply: Reply<Result<()>>,
        closing: bool,
    },
    List(crate::schema::Projection, Reply<Result<Vec<CatalogRow>>>),
    /// A maintenance pass; `true` forces compaction.
    Maintain(bool, Reply<Result<crate::maintenance::MaintenanceReport>>),
    Snapshot(Reply<Result<(deltalake::DeltaTable, crate::listing::Overlay)>>),
    /// A full listing, and the keys with more than one row in the Delta snapshot.
    ListNotingDuplicates(Reply<Result<(Vec<CatalogRow>, Vec<String>)>>),
}

/// Tuning of the group commit.
#[derive(Debug, Clone)]
pub struct CommitPolicy {
    /// Commit at most this long after the first pending operation.
    pub interval: Duration,
    /// Commit as soon as this many operations are pending.
    pub max_rows: usize,
    /// fsync each journal record before the put returns.
    pub fsync: bool,
    /// How long maintenance keeps removed data files and old log files
    /// ([`crate::maintenance`]).
    pub retention: Duration,
    /// What commits match rows against: when set, each commit keeps for each key it touches
    /// the row that describes the key's payload now
    /// ([`crate::delta::DeltaCatalog::match_payloads_with`]).
    pub payloads: Option<Arc<dyn PayloadProbe>>,
}

impl Default for CommitPolicy {
    fn default() -> Self {
        CommitPolicy {
            interval: Duration::from_millis(1000),
            max_rows: 10_000,
            fsync: false,
            retention: crate::maintenance::DEFAULT_RETENTION,
            payloads: None,
        }
    }
}

pub(crate) struct State {
    pub(crate) journal: JournalWriter,
    pending: Vec<CatalogOp>,
    first_pending_at: Option<Instant>,
    requests: Vec<Request>,
    shutdown: bool,
    stopped: bool,
    /// Operations were submitted that are not in Delta yet (pending or in unsent batches).
    pub(crate) dirty: bool,
}

pub(crate) struct Shared {
    pub(crate) state: Mutex<State>,
    wake: Condvar,
    pub(crate) catalog_dir: PathBuf,
    journal_dir: PathBuf,
    policy: CommitPolicy,
}

impl Shared {
    pub(crate) fn lock(&self) -> MutexGuard<'_, State> {
        // A panic while holding the lock cannot leave the state half-updated in a way that
        // matters more than losing the process; keep serving.
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn gone(&self) -> CatalogError {
        CatalogError::CommitterGone {
            root: self.catalog_dir.clone(),
        }
    }

    /// Journal one operation and queue it for the next commit.
    pub(crate) fn submit(&self, op: CatalogOp) -> Result<()> {
        let record = journal::encode_record(&op).map_err(|message| CatalogError::Journal {
            path: self.journal_dir.clone(),
            message: message.to_string(),
        })?;
        let mut st = self.lock();
        if st.stopped {
            return Err(self.gone());
        }
        st.journal.append(&record)?;
        st.pending.push(op);
        st.dirty = true;
        let first = st.first_pending_at.is_none();
        if first {
            st.first_pending_at = Some(Instant::now());
        }
        let full = st.pending.len() >= self.policy.max_rows;
        drop(st);
        if first || full {
            self.wake.notify_one();
        }
        Ok(())
    }

    pub(crate) fn request(&self, req: Request) -> Result<()> {
        let mut st = self.lock();
        if st.stopped {
            return Err(self.gone());
        }
        st.requests.push(req);
        drop(st);
        self.wake.notify_one();
        Ok(())
    }

    pub(crate) fn shutdown(&self) {
        self.lock().shutdown = true;
        self.wake.notify_one();
    }
}

/// Start the committer thread for the catalog in `catalog_dir`. Returns at once: the thread
/// opens the Delta table and replays the journals of dead writers in the background (opening a
/// cache never waits on Delta); requests that need the table wait for it, and get its error if
/// it cannot be opened (the thread retries every second).
/// The message of a panic that delta-rs raises and catches itself when a data file's upload
/// fails at its last step (object_store's `BufWriter::abort` after shutdown began): on a full
/// disk, every commit attempt raised one, and the default hook printed each with a backtrace.
const CAUGHT_UPSTREAM_PANIC: &str = "Already shut down";

/// Keep the process's panic hook from printing the one panic delta-rs catches by design, on
/// the committer's thread only; every other panic goes to the hook that was there before.
fn quiet_caught_upstream_panics() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            let on_committer = std::thread::current().name() == Some(COMMITTER_THREAD);
            let message = info
                .payload()
                .downcast_ref::<&str>()
                .copied()
                .or_else(|| info.payload().downcast_ref::<String>().map(String::as_str));
            if on_committer && message == Some(CAUGHT_UPSTREAM_PANIC) {
                tracing::debug!("delta-rs could not abort a failed upload ({info})");
                return;
            }
            previous(info);
        }));
    });
}

/// The committer thread's name.
const COMMITTER_THREAD: &str = "cacheness-commit";

pub(crate) fn start(
    place: &CatalogPlace,
    policy: CommitPolicy,
) -> Result<(Arc<Shared>, std::thread::JoinHandle<()>)> {
    quiet_caught_upstream_panics();
    let catalog_dir = &place.local;
    let journal_dir = catalog_dir.join("journal");
    let table_dir = place.shared.join("cache_entries");
    let journal = JournalWriter::create(&journal_dir, policy.fsync, policy.interval)?;
    let shared = Arc::new(Shared {
        state: Mutex::new(State {
            journal,
            pending: Vec::new(),
            first_pending_at: None,
            requests: Vec::new(),
            shutdown: false,
            stopped: false,
            dirty: false,
        }),
        wake: Condvar::new(),
        catalog_dir: catalog_dir.to_path_buf(),
        journal_dir: journal_dir.clone(),
        policy,
    });
    let thread_shared = shared.clone();
    let handle = std::thread::Builder::new()
        .name(COMMITTER_THREAD.into())
        // DataFusion plans recurse deeply; the default 2 MiB thread stack is not enough.
        .stack_size(COMMITTER_STACK)
        .spawn(move || {
            match tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            {
                Ok(rt) => run(&rt, &thread_shared, &table_dir),
                Err(e) => {
                    tracing::error!("cannot start the catalog committer: {e}");
                    thread_shared.lock().stopped = true;
                }
            }
        })
        .map_err(|e| CatalogError::io(catalog_dir, e))?;
    Ok((shared, handle))
}

/// Open the Delta table (the journals of dead writers are replayed by the first commit
/// round, `crate::commit_round`).
async fn open_table(
    table_dir: &Location,
    local_dir: &Path,
    payloads: Option<Arc<dyn PayloadProbe>>,
) -> Result<DeltaCatalog> {
    let mut delta = DeltaCatalog::open(table_dir).await?;
    delta.lock_maintenance_in(local_dir);
    if let Some(probe) = payloads {
        delta.match_payloads_with(probe);
    }
    Ok(delta)
}

fn run(rt: &tokio::runtime::Runtime, shared: &Shared, table_dir: &Location) {
    let mut unsent: Vec<Batch> = Vec::new();
    let mut commits_since_compact = 0usize;
    let mut commits_since_maintenance = 0usize;
    let mut delta: Option<DeltaCatalog> = None;
    // Whether a commit round ran since the table was opened (the first replays dead writers).
    let mut replayed = false;
    let mut open_error = String::new();
    // When to open the table with nothing to commit (to replay dead writers' journals); a
    // failed open moves it on by RETRY_AFTER.
    let mut idle_open_at = Instant::now() + IDLE_OPEN_AFTER;
    loop {
        let (batch, requests, shutdown, writer) = {
            let mut st = shared.lock();
            loop {
                let due = st
                    .first_pending_at
                    .map(|t| t.elapsed() >= shared.policy.interval)
                    .unwrap_or(false);
                let idle_open = delta.is_none() && Instant::now() >= idle_open_at;
                if st.shutdown
                    || !st.requests.is_empty()
                    || due
                    || idle_open
                    || st.pending.len() >= shared.policy.max_rows
                {
                    break;
                }
                let mut wait = match st.first_pending_at {
                    Some(t) => shared.policy.interval.saturating_sub(t.elapsed()),
                    None if !unsent.is_empty() => RETRY_AFTER, // retry a failed commit
                    None => Duration::from_secs(3600),
                };
                if delta.is_none() {
                    wait = wait.min(idle_open_at.saturating_duration_since(Instant::now()));
                }
                let (guard, timeout) = shared
                    .wake
                    .wait_timeout(st, wait)
                    .unwrap_or_else(|p| p.into_inner());
                st = guard;
                if timeout.timed_out() && st.first_pending_at.is_none() && !unsent.is_empty() {
                    break;
                }
            }
            let requests = std::mem::take(&mut st.requests);
            // Pending rows are committed when their interval is up, the batch is full, someone
            // asks, a failed commit is retried, or on shutdown; not because the idle table open
            // woke the loop.
            let due = st
                .first_pending_at
                .is_some_and(|t| t.elapsed() >= shared.policy.interval);
            let commit_now = st.shutdown
                || due
                || !requests.is_empty()
                || !unsent.is_empty()
                || st.pending.len() >= shared.policy.max_rows;
            let mut batch = None;
            if commit_now && !st.pending.is_empty() {
                match st.journal.rotate() {
                    Ok((seq, path)) => {
                        batch = Some(Batch {
                            seq,
                            path,
                            ops: std::mem::take(&mut st.pending),
                        });
                        st.first_pending_at = None;
                    }
                    Err(e) => tracing::error!("cannot rotate the catalog journal: {e}"),
                }
            }
            (
                batch,
                requests,
                st.shutdown,
                st.journal.writer_id().to_string(),
            )
        };
        unsent.extend(batch);
        // Segments are committed in a round under the journal's commit lock
        // (`crate::commit_round`). A closing process first hands its segments over, so that
        // the holder may commit them; once it has the lock, those the holder took are gone.
        let journal_dir = &shared.journal_dir;
        let flushing = requests.iter().any(|r| matches!(r, Request::Flush { .. }));
        let closing = shutdown
            || requests
                .iter()
                .any(|r| matches!(r, Request::Flush { closing: true, .. }));
        let handing_over = closing && !unsent.is_empty();
        // Segments are left to another process only once their marker says so.
        let mut handed_over = false;
        if handing_over && let Some(last) = unsent.last() {
            match journal::hand_over(journal_dir, &writer, last.seq) {
                Ok(()) => handed_over = true,
                Err(e) => tracing::warn!("cannot hand the journal over: {e}"),
            }
        }
        // `Some` when a round runs, with the lock if it was got. A flush runs one even with
        // nothing of this process's to commit: it commits what others handed over.
        let mut round: Option<Option<LockFile>> = None;
        // Segments left to a committer to come (their marker stays).
        let mut left = false;
        if !unsent.is_empty() || flushing {
            let lock = journal::lock_commits(journal_dir, LOCK_PATIENCE).unwrap_or_else(|e| {
                tracing::warn!("committing without the commit lock: {e}");
                None
            });
            unsent.retain(|b| b.path.exists());
            // A closing process whose segments another live process will commit leaves them
            // to it: processes that close one after another then share one Delta commit.
            left = handed_over
                && !unsent.is_empty()
                && lock.is_some()
                && journal::committer_to_come(journal_dir, &writer, LEAVE_WITHIN).unwrap_or_else(
                    |e| {
                        tracing::debug!("cannot tell whether another process commits: {e}");
                        false
                    },
                );
            if left {
                // They are the other process's to commit now (or, should it die, the next
                // round's: this writer's lock goes when it finishes).
                tracing::debug!(
                    segments = unsent.len(),
                    "journal left to a committer to come"
                );
                unsent.clear();
            } else if !unsent.is_empty() || flushing {
                round = Some(lock);
            }
        }
        // The table is opened only for work that needs it: something to commit, a listing or
        // compaction, or the idle replay. A process that only reads and exits quickly never
        // opens it, and its close does not wait for it; nor does a closing process whose
        // segments another process committed.
        let needs_table = round.is_some()
            || requests.iter().any(|r| !matches!(r, Request::Flush { .. }))
            || (!shutdown && Instant::now() >= idle_open_at);
        if delta.is_none() && needs_table {
            match rt.block_on(open_table(
                table_dir,
                &shared.catalog_dir,
                shared.policy.payloads.clone(),
            )) {
                Ok(d) => delta = Some(d),
                Err(e) => {
                    tracing::warn!(table = %table_dir.label(), "cannot open the catalog (retrying): {e}");
                    open_error = e.to_string();
                    idle_open_at = Instant::now() + RETRY_AFTER;
                }
            }
        }
        // The first round once the table is open also runs with nothing of this process's to
        // commit: it replays the journals of dead writers (unless another process holds the
        // lock, and so runs a round itself).
        if round.is_none() && delta.is_some() && !replayed {
            replayed = true;
            if let Ok(Some(lock)) = journal::lock_commits(journal_dir, Duration::ZERO) {
                round = Some(Some(lock));
            }
        }
        match delta.as_mut() {
            Some(delta) => {
                let before = unsent.len();
                let commit_result = match round.take() {
                    Some(lock) => {
                        replayed = true;
                        let done = rt.block_on(commit_round::run(
                            delta,
                            journal_dir,
                            &writer,
                            &mut unsent,
                        ));
                        // Withdrawn before the lock goes, so that no later round reads it.
                        if handing_over {
                            journal::withdraw_hand_over(journal_dir, &writer);
                        }
                        drop(lock);
                        done
                    }
                    None => Ok(()),
                };
                if unsent.is_empty() {
                    let mut st = shared.lock();
                    st.dirty = !st.pending.is_empty();
                }
                commits_since_compact += before - unsent.len();
                commits_since_maintenance += before - unsent.len();
                if commits_since_maintenance >= MAINTAIN_EVERY {
                    commits_since_maintenance = 0;
                    commits_since_compact = 0;
                    match rt.block_on(delta.maintain(shared.policy.retention, false)) {
                        Ok(report) => tracing::debug!(?report, "catalog maintenance"),
                        Err(e) => tracing::warn!("catalog maintenance failed: {e}"),
                    }
                } else if commits_since_compact >= 8 {
                    commits_since_compact = 0;
                    if let Err(e) = rt.block_on(delta.maybe_compact()) {
                        tracing::warn!("catalog compaction failed: {e}");
                    }
                }
                serve(rt, delta, shared, requests, &commit_result);
            }
            None => {
                for req in requests {
                    let err = || CatalogError::CommitFailed {
                        table: table_dir.label(),
                        message: format!("the catalog cannot be opened: {open_error}"),
                    };
                    match req {
                        // Nothing to commit: a flush had nothing to wait for.
                        Request::Flush { reply, .. } if round.is_none() => reply.send(Ok(())),
                        Request::Flush { reply, .. } => reply.send(Err(err())),
                        Request::List(_, reply) => reply.send(Err(err())),
                        Request::Maintain(_, reply) => reply.send(Err(err())),
                        Request::Snapshot(reply) => reply.send(Err(err())),
                        Request::ListNotingDuplicates(reply) => reply.send(Err(err())),
                    }
                }
            }
        }
        if handing_over && !left {
            journal::withdraw_hand_over(journal_dir, &writer);
        }
        if shutdown {
            let mut st = shared.lock();
            if unsent.is_empty() && st.pending.is_empty() {
                st.journal.finish();
            }
            st.stopped = true;
            for req in std::mem::take(&mut st.requests) {
                if let Request::Flush { reply, .. } = req {
                    reply.send(Err(shared.gone()));
                }
            }
            return;
        }
    }
}

/// Answer the requests taken with this round's batch.
fn serve(
    rt: &tokio::runtime::Runtime,
    delta: &mut DeltaCatalog,
    shared: &Shared,
    requests: Vec<Request>,
    commit_result: &Result<()>,
) {
    for req in requests {
        match req {
            Request::Flush { reply, .. } => reply.send(match commit_result {
                Ok(()) => Ok(()),
                Err(CatalogError::CommitFailed { table, message }) => {
                    Err(CatalogError::CommitFailed {
                        table: table.clone(),
                        message: message.clone(),
                    })
                }
                Err(e) => Err(CatalogError::CommitFailed {
                    table: delta.label().to_string(),
                    message: e.to_string(),
                }),
            }),
            Request::List(projection, reply) => reply.send(rt.block_on(crate::listing::list(
                delta,
                &shared.journal_dir,
                projection,
            ))),
            Request::Maintain(force, reply) => {
                reply.send(rt.block_on(delta.maintain(shared.policy.retention, force)))
            }
            Request::Snapshot(reply) => reply.send(rt.block_on(crate::listing::table_and_overlay(
                delta,
                &shared.journal_dir,
            ))),
            Request::ListNotingDuplicates(reply) => {
                reply.send(rt.block_on(crate::listing::list_noting_duplicates(
                    delta,
                    &shared.journal_dir,
                    crate::schema::Projection::Full,
                )))
            }
        }
    }
}
