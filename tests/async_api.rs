//! The async API does its file work, codecs and hashing off the executor: a put or get of a
//! large array never stalls the other tasks of the runtime, a current-thread one included.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use cacheness::deps::ndarray::Array1;
use cacheness::{Cache, params};

/// How many times a task that only yields ran while `work` was awaited on the same
/// current-thread runtime. Work done on the calling task gives the other task no turn at all
/// (0, whatever the machine's speed); work awaited on the blocking pool gives it turns.
async fn turns_of_a_neighbour_during<F: Future>(work: F) -> (F::Output, usize) {
    let turns = Arc::new(AtomicUsize::new(0));
    let working = Arc::new(AtomicBool::new(true));
    let neighbour = {
        let (turns, working) = (turns.clone(), working.clone());
        tokio::spawn(async move {
            while working.load(Ordering::Acquire) {
                turns.fetch_add(1, Ordering::Relaxed);
                tokio::task::yield_now().await;
            }
        })
    };
    // Let the neighbour start, then count only what happens during `work`.
    tokio::task::yield_now().await;
    let before = turns.load(Ordering::Relaxed);
    let out = work.await;
    let during = turns.load(Ordering::Relaxed) - before;
    working.store(false, Ordering::Release);
    neighbour.await.unwrap();
    (out, during)
}

#[tokio::test(flavor = "current_thread")]
async fn a_large_put_and_get_leave_other_tasks_running_on_a_current_thread_runtime() {
    let dir = tempfile::tempdir().unwrap();
    let cache = Cache::open(dir.path()).await.unwrap();
    let array = Array1::from_iter((0..4_000_000).map(|i| i as f64 * 0.5));
    let p = params!(data = "large");
    let (key, turns) = turns_of_a_neighbour_during(cache.put(array.clone(), &p)).await;
    key.unwrap();
    assert!(
        turns > 0,
        "the put ran on the executor: no other task ran meanwhile"
    );
    let (back, turns) = turns_of_a_neighbour_during(cache.get::<Array1<f64>>(&p)).await;
    assert_eq!(back.unwrap(), Some(array));
    assert!(
        turns > 0,
        "the get ran on the executor: no other task ran meanwhile"
    );
    cache.close().await.unwrap();
}

/// On a multi-thread runtime with one worker the same holds: the worker that runs the put
/// hands its other tasks on (`block_in_place`) instead of holding them for the put's length.
#[test]
fn a_large_put_leaves_other_tasks_running_on_a_one_worker_multi_thread_runtime() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let cache = rt.block_on(Cache::open(dir.path())).unwrap();
    let array = Array1::from_iter((0..4_000_000).map(|i| i as f64 * 0.5));
    // Both tasks are spawned, so both run on the one worker.
    let turns = rt.block_on(async move {
        tokio::spawn(async move {
            let (key, turns) =
                turns_of_a_neighbour_during(cache.put(array, &params!(data = "large"))).await;
            key.unwrap();
            turns
        })
        .await
        .unwrap()
    });
    assert!(
        turns > 0,
        "the put held the worker: no other task ran meanwhile"
    );
}
