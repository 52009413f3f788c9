//! What planning a query's fetches costs against a key with 10,000 coverage intervals: days
//! fetched one by one (10,000 adjacent spans, no gap), and weeks with a hole after each (10,000
//! spans, 10,000 gaps); for the whole span, a month inside it, and recording one more fetch.
//! Medians of 1,001 runs, in µs.
//! `cargo run --release -p cacheness-pull --example gap_cost`

use std::hint::black_box;
use std::time::Instant;

use cacheness_pull::{Fetched, Freshness, Granularity, Interval, KeyCoverage};

fn median_us(mut f: impl FnMut()) -> f64 {
    let mut t: Vec<f64> = (0..1001)
        .map(|_| {
            let s = Instant::now();
            f();
            s.elapsed().as_secs_f64() * 1e6
        })
        .collect();
    t.sort_by(f64::total_cmp);
    t[t.len() / 2]
}

fn coverage(n: i64, step: i64, len: i64) -> KeyCoverage {
    let mut c = KeyCoverage::new();
    for i in 0..n {
        if let Some(interval) = Interval::new(step * i, step * i + len) {
            c.record(Fetched {
                interval,
                fetched_at: i,
                valid_until: Some(i64::MAX),
            });
        }
    }
    c
}

fn report(name: &str, c: &KeyCoverage, span: i64) {
    let at = Freshness {
        now: 0,
        final_before: None,
    };
    let all = Interval {
        start: 0,
        end: span,
    };
    let month = Interval {
        start: span / 2,
        end: span / 2 + 30,
    };
    let mut buf = Vec::new();
    c.gaps_into(all, Granularity::TICK, at, &mut buf);
    let gaps = buf.len();
    let whole = median_us(|| {
        c.gaps_into(black_box(all), Granularity::TICK, at, &mut buf);
        black_box(&buf);
    });
    let inside = median_us(|| {
        c.gaps_into(black_box(month), Granularity::TICK, at, &mut buf);
        black_box(&buf);
    });
    let mut copy = c.clone();
    let mut day = span;
    let record = median_us(|| {
        if let Some(interval) = Interval::new(day, day + 1) {
            copy.record(Fetched {
                interval,
                fetched_at: day,
                valid_until: None,
            });
        }
        day += 2;
    });
    println!(
        "{name}: {} spans, {gaps} gaps over the whole span; gaps: whole span {whole:.2} us, \
         one month {inside:.3} us; record one fetch {record:.3} us",
        c.spans().len()
    );
}

fn main() {
    let n = 10_000i64;
    report("days fetched one by one", &coverage(n, 1, 1), n);
    report("weeks with a hole after each", &coverage(n, 8, 7), 8 * n);
}
