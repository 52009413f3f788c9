//! Caches and `fork()`: a process forked from one that had opened a cache cannot open one.
//!
//! Opening a cache starts threads (the catalog's committer, the runtimes of the IO layer and of
//! delta-rs). A forked child has none of its parent's threads, but the global wait queues of
//! `parking_lot`, which tokio and DataFusion lock with, still list the threads that were
//! waiting at the fork; the child's own new threads reuse those threads' stacks, so its next
//! lock or wake-up walks freed memory: a crash or a hang (one run in five of the Python
//! package's `test_fork.py` before this rule). So the first cache opened in a process records
//! the process, and an open in any other process, one forked from it, is refused with
//! [`Error::Forked`]. A child forked before the first cache was opened opens caches as any
//! process does.

use std::path::Path;
use std::sync::atomic::{AtomicU32, Ordering::SeqCst};

use crate::error::{Error, Result};

/// The process in which a cache was first opened (and threads started), or 0.
static THREADS_STARTED_IN: AtomicU32 = AtomicU32::new(0);

/// Refuse to open the cache at `root` in a process forked from one that had opened a cache;
/// record this process as the one whose threads these are if none is recorded.
pub(crate) fn refuse_after_fork(root: &Path) -> Result<()> {
    refuse_in_other_process(&THREADS_STARTED_IN, std::process::id(), root)
}

/// The rule, for the process `me`, with `started_in` the recorded process.
fn refuse_in_other_process(started_in: &AtomicU32, me: u32, root: &Path) -> Result<()> {
    match started_in.compare_exchange(0, me, SeqCst, SeqCst) {
        Ok(_) => Ok(()),
        Err(started) if started == me => Ok(()),
        Err(started) => Err(Error::Forked {
            root: root.to_path_buf(),
            parent: started,
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_process_is_refused_only_when_another_started_the_threads() {
        let root = Path::new("/nowhere");
        let started_in = AtomicU32::new(0);
        // The first process to open records itself, and opens again.
        refuse_in_other_process(&started_in, 7, root).unwrap();
        refuse_in_other_process(&started_in, 7, root).unwrap();
        // Its forked child (another process id, the record inherited) is refused.
        let refused = refuse_in_other_process(&started_in, 8, root).unwrap_err();
        assert!(matches!(refused, Error::Forked { parent: 7, .. }));
        let text = refused.to_string();
        assert!(text.contains("/nowhere") && text.contains("fork") && text.contains("spawn"));
        // This process's own record lets it open.
        refuse_after_fork(root).unwrap();
    }
}
