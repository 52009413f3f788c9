//! Work spread over the cores: the one place that starts threads for the codecs and the
//! payload MAC.

use std::sync::Mutex;

/// The threads a parallel step uses: the cores this process may run on, at most 8 (past that
/// the memory bus, not the cores, bounds hashing and decoding). The answer is cached: on Linux
/// it reads cgroup files.
pub fn cores() -> usize {
    static CORES: std::sync::OnceLock<usize> = std::sync::OnceLock::new();
    *CORES.get_or_init(|| {
        std::thread::available_parallelism()
            .map_or(2, |n| n.get())
            .min(8)
    })
}

/// Run `f` on each item, the items taken in order from a shared queue by `threads` threads
/// (the calling thread is one of them); the results come back in the items' order. One thread
/// (or one item) runs everything on the calling thread, starting none. A panic in `f` reaches
/// the caller, as if `f` had run there.
pub fn on_threads<T: Send, R: Send>(
    items: Vec<T>,
    threads: usize,
    f: impl Fn(T) -> R + Sync,
) -> Vec<R> {
    let count = items.len();
    let queue = Mutex::new(items.into_iter().enumerate().rev().collect::<Vec<_>>());
    let done: Mutex<Vec<(usize, R)>> = Mutex::new(Vec::with_capacity(count));
    let work = || {
        loop {
            let Some((index, item)) = queue.lock().ok().and_then(|mut q| q.pop()) else {
                break;
            };
            let result = f(item);
            if let Ok(mut done) = done.lock() {
                done.push((index, result));
            }
        }
    };
    std::thread::scope(|scope| {
        for _ in 1..threads.clamp(1, count.max(1)) {
            scope.spawn(work);
        }
        work();
    });
    // A panic in `f` ends the scope with that panic, so the results are complete here (and
    // neither lock is held by anyone).
    let mut done = done.into_inner().unwrap_or_else(|p| p.into_inner());
    done.sort_unstable_by_key(|(index, _)| *index);
    done.into_iter().map(|(_, r)| r).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn results_come_back_in_the_items_order_whatever_the_threads() {
        for threads in [0, 1, 2, 7, 100] {
            let items: Vec<u64> = (0..50).collect();
            let out = on_threads(items, threads, |i| {
                // Uneven work, so the threads finish out of order.
                std::thread::sleep(std::time::Duration::from_micros((50 - i) * 20));
                i * i
            });
            assert_eq!(
                out,
                (0..50).map(|i| i * i).collect::<Vec<_>>(),
                "{threads} threads"
            );
        }
        assert!(on_threads(Vec::<u8>::new(), 4, |i| i).is_empty());
        assert!((1..=8).contains(&cores()));
    }

    #[test]
    fn a_panic_reaches_the_caller() {
        let caught = std::panic::catch_unwind(|| on_threads(vec![1, 2, 3], 3, |i| assert!(i != 2)));
        assert!(caught.is_err());
    }
}
