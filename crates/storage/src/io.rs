//! The IO runtime: every object store request runs on one small runtime of its own, whichever
//! runtime (or plain thread) awaits it, so connection pools stay on a live runtime.

/// The runtime every object store request runs on (two worker threads, started on first use
/// in each process: a child forked from a process that had started it gets a runtime of its
/// own, since the parent's worker threads do not exist in the child and a request sent to them
/// would wait forever; the parent's is left alone, never dropped).
pub(crate) fn io_runtime() -> &'static tokio::runtime::Runtime {
    static RT: std::sync::Mutex<Option<(u32, &'static tokio::runtime::Runtime)>> =
        std::sync::Mutex::new(None);
    let pid = std::process::id();
    let mut rt = RT.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
    match *rt {
        Some((owner, runtime)) if owner == pid => runtime,
        _ => {
            let runtime: &'static tokio::runtime::Runtime = Box::leak(Box::new(
                tokio::runtime::Builder::new_multi_thread()
                    .worker_threads(2)
                    .thread_name("cacheness-io")
                    .enable_all()
                    .build()
                    .unwrap_or_else(|e| {
                        // Without threads there is no cache to run; nothing a user can fix.
                        panic!("cannot start the object store IO runtime: {e}")
                    }),
            ));
            *rt = Some((pid, runtime));
            runtime
        }
    }
}

/// Run `future` on the IO runtime and await its output from any executor (or, through
/// [`wait`], from plain synchronous code).
pub async fn on_io<F>(future: F) -> F::Output
where
    F: std::future::Future + Send + 'static,
    F::Output: Send + 'static,
{
    match io_runtime().spawn(future).await {
        Ok(out) => out,
        Err(e) => std::panic::resume_unwind(e.into_panic()),
    }
}

/// Wait for `future` on this thread. Object store requests inside it run on the IO runtime
/// ([`on_io`]), so this works from synchronous code and needs no runtime of its own.
pub fn wait<F: std::future::Future>(future: F) -> F::Output {
    futures::executor::block_on(future)
}
