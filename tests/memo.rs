//! Compute-once lookups: `get_or_insert_with`, single flight, what is stored and what is not.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Barrier};
use std::time::Duration;

use cacheness::memo::{MemoOptions, Outcome};
use cacheness::{Cache as AsyncCache, Error, PutOptions, Serde, blocking::Cache, params};

#[test]
fn a_miss_computes_stores_and_the_next_call_hits() {
    let dir = tempfile::tempdir().unwrap();
    let cache = Cache::open(dir.path()).unwrap();
    let runs = AtomicUsize::new(0);
    let compute = || {
        runs.fetch_add(1, Ordering::SeqCst);
        Serde(vec![1.5f64, 2.5])
    };
    let p = params!(model = "m", n = 2);
    assert_eq!(cache.get_or_insert_with(&p, compute).unwrap().0, [1.5, 2.5]);
    assert_eq!(cache.get_or_insert_with(&p, compute).unwrap().0, [1.5, 2.5]);
    assert_eq!(runs.load(Ordering::SeqCst), 1);
    // The stored entry is an ordinary one: `get` finds it under the same parameters.
    let stored: Option<Serde<Vec<f64>>> = cache.get(&p).unwrap();
    assert_eq!(stored.unwrap().0, [1.5, 2.5]);
}

#[test]
fn none_is_a_value_that_hits() {
    let dir = tempfile::tempdir().unwrap();
    let cache = Cache::open(dir.path()).unwrap();
    let runs = AtomicUsize::new(0);
    let compute = || {
        runs.fetch_add(1, Ordering::SeqCst);
        Serde(None::<String>)
    };
    for _ in 0..3 {
        assert_eq!(
            cache
                .get_or_insert_with(&params!(q = "absent"), compute)
                .unwrap()
                .0,
            None
        );
    }
    assert_eq!(runs.load(Ordering::SeqCst), 1);
}

#[test]
fn eight_threads_with_one_key_compute_once() {
    let dir = tempfile::tempdir().unwrap();
    let cache = Cache::open(dir.path()).unwrap();
    let runs = Arc::new(AtomicUsize::new(0));
    let start = Arc::new(Barrier::new(8));
    let threads: Vec<_> = (0..8)
        .map(|_| {
            let (cache, runs, start) = (cache.clone(), runs.clone(), start.clone());
            std::thread::spawn(move || {
                start.wait();
                cache
                    .memoize(
                        &params!(x = 7),
                        &MemoOptions::default(),
                        |_| true,
                        || {
                            runs.fetch_add(1, Ordering::SeqCst);
                            std::thread::sleep(Duration::from_millis(200));
                            Ok::<_, Error>(Serde(49))
                        },
                    )
                    .unwrap()
            })
        })
        .collect();
    let results: Vec<_> = threads.into_iter().map(|t| t.join().unwrap()).collect();
    assert_eq!(runs.load(Ordering::SeqCst), 1);
    assert!(results.iter().all(|(v, _)| v.0 == 49));
    let computed = results
        .iter()
        .filter(|(_, o)| *o == Outcome::Computed)
        .count();
    assert_eq!(computed, 1, "{results:?}");
}

#[test]
fn different_keys_compute_in_parallel() {
    let dir = tempfile::tempdir().unwrap();
    let cache = Cache::open(dir.path()).unwrap();
    let start = Arc::new(Barrier::new(2));
    let inside = Arc::new(Barrier::new(2));
    let threads: Vec<_> = (0..2)
        .map(|i| {
            let (cache, start, inside) = (cache.clone(), start.clone(), inside.clone());
            std::thread::spawn(move || {
                start.wait();
                // Both computations must be running at once to pass this barrier.
                cache
                    .get_or_insert_with(&params!(i = i), || {
                        inside.wait();
                        Serde(i)
                    })
                    .unwrap()
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
}

#[test]
fn errors_and_refused_values_are_not_stored() {
    let dir = tempfile::tempdir().unwrap();
    let cache = Cache::open(dir.path()).unwrap();
    let p = params!(op = "parse");
    let err: Result<Serde<i32>, Error> = cache.try_get_or_insert_with(&p, || {
        Err(Error::NotFound {
            key: "input".into(),
        })
    });
    assert!(matches!(err, Err(Error::NotFound { .. })));
    assert!(!cache.exists(&p).unwrap());
    let (v, _) = cache
        .memoize(
            &p,
            &MemoOptions::default(),
            |v: &Serde<i32>| v.0 > 0,
            || Ok::<_, Error>(Serde(-1)),
        )
        .unwrap();
    assert_eq!(v.0, -1);
    assert!(!cache.exists(&p).unwrap(), "cache_if refused it");
    let (_, outcome) = cache
        .memoize(
            &p,
            &MemoOptions::default(),
            |v: &Serde<i32>| v.0 > 0,
            || Ok::<_, Error>(Serde(5)),
        )
        .unwrap();
    assert_eq!(outcome, Outcome::Computed);
    assert!(cache.exists(&p).unwrap());
}

#[test]
fn a_failed_leader_lets_a_waiting_caller_compute() {
    let dir = tempfile::tempdir().unwrap();
    let cache = Cache::open(dir.path()).unwrap();
    let leader_started = Arc::new(Barrier::new(2));
    let leader = {
        let (cache, started) = (cache.clone(), leader_started.clone());
        std::thread::spawn(move || {
            cache.try_get_or_insert_with(&params!(k = 1), || {
                started.wait();
                std::thread::sleep(Duration::from_millis(100));
                Err::<Serde<i32>, _>(Error::NotFound {
                    key: "input".into(),
                })
            })
        })
    };
    leader_started.wait();
    let v = cache
        .get_or_insert_with(&params!(k = 1), || Serde(11))
        .unwrap();
    assert_eq!(v.0, 11);
    assert!(leader.join().unwrap().is_err());
}

#[test]
fn a_stored_value_of_another_type_is_recomputed() {
    let dir = tempfile::tempdir().unwrap();
    let cache = Cache::open(dir.path()).unwrap();
    let p = params!(f = "g");
    cache.put(&Serde("text".to_string()), &p).unwrap();
    let v = cache.get_or_insert_with(&p, || Serde(3u32)).unwrap();
    assert_eq!(v.0, 3);
    let again: Option<Serde<u32>> = cache.get(&p).unwrap();
    assert_eq!(again.unwrap().0, 3);
}

#[test]
fn put_options_apply_to_the_stored_entry() {
    let dir = tempfile::tempdir().unwrap();
    let cache = Cache::open(dir.path()).unwrap();
    let p = params!(t = 1);
    let opts = MemoOptions::put(
        PutOptions::default()
            .description("memo")
            .ttl(Duration::from_secs(600)),
    );
    cache
        .memoize(&p, &opts, |_| true, || Ok::<_, Error>(Serde(1)))
        .unwrap();
    let (_, info) = cache.get_with_metadata::<Serde<i32>>(&p).unwrap().unwrap();
    assert_eq!(info.description.as_deref(), Some("memo"));
    assert!(info.expires_at.is_some());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn async_callers_of_one_key_compute_once_without_blocking_the_runtime() {
    let dir = tempfile::tempdir().unwrap();
    let cache = AsyncCache::open(dir.path()).await.unwrap();
    let runs = Arc::new(AtomicUsize::new(0));
    let tasks: Vec<_> = (0..8)
        .map(|_| {
            let (cache, runs) = (cache.clone(), runs.clone());
            tokio::spawn(async move {
                cache
                    .get_or_insert_with(&params!(a = 1), || async {
                        runs.fetch_add(1, Ordering::SeqCst);
                        tokio::time::sleep(Duration::from_millis(200)).await;
                        Serde("done".to_string())
                    })
                    .await
                    .unwrap()
            })
        })
        .collect();
    // With 2 worker threads, 7 waiters blocking their threads would starve the leader.
    for t in tasks {
        assert_eq!(t.await.unwrap().0, "done");
    }
    assert_eq!(runs.load(Ordering::SeqCst), 1);
}
