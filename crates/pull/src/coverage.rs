//! Coverage: which intervals of one key were fetched, when, and until when they are valid; and
//! the gaps a request leaves once coverage is subtracted.
//!
//! Coverage records what was **asked of the source**, not what rows came back: a fetch of a
//! range with no rows (a holiday) covers it like any other. A newer fetch replaces the parts of
//! older ones it overlaps. A gap is any part of a request not covered by a fetch that is still
//! valid (`valid_until` in the future) and final (before the volatile window); holes inside the
//! cached span count like the edges, and adjacent gaps come out merged and aligned outward to
//! the table's granularity.

use crate::interval::{Granularity, Interval};

/// One fetch of one key's interval.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Fetched {
    /// The interval asked of the source.
    pub interval: Interval,
    /// When it was fetched: µs since the epoch.
    pub fetched_at: i64,
    /// When it stops counting: µs since the epoch (`None`: never).
    pub valid_until: Option<i64>,
}

impl Fetched {
    fn valid_at(&self, now: i64) -> bool {
        self.valid_until.is_none_or(|v| v > now)
    }

    fn with_interval(&self, interval: Interval) -> Fetched {
        Fetched { interval, ..*self }
    }
}

/// When gaps are computed: the time validity is judged at, and where the volatile window
/// starts (ticks at or after it are never final, so never covered).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Freshness {
    /// Now: µs since the epoch.
    pub now: i64,
    /// The first tick of the volatile window, if the table has one.
    pub final_before: Option<i64>,
}

/// The coverage of one key: non-overlapping fetches sorted by start.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct KeyCoverage {
    spans: Vec<Fetched>,
}

impl KeyCoverage {
    /// No coverage.
    pub fn new() -> Self {
        KeyCoverage::default()
    }

    /// Coverage rebuilt from stored fetch records, in any order (later `fetched_at` wins where
    /// they overlap; invalidations are recorded as removals by the caller).
    pub fn from_records(records: impl IntoIterator<Item = Fetched>) -> Self {
        let mut records: Vec<Fetched> = records.into_iter().collect();
        records.sort_by_key(|r| r.fetched_at);
        let mut c = KeyCoverage::new();
        for r in records {
            c.record(r);
        }
        c
    }

    /// The fetches, sorted by start, not overlapping.
    pub fn spans(&self) -> &[Fetched] {
        &self.spans
    }

    /// The index range of the spans overlapping `i`.
    fn overlapping(&self, i: Interval) -> std::ops::Range<usize> {
        let first = self.spans.partition_point(|s| s.interval.end <= i.start);
        let last = first + self.spans[first..].partition_point(|s| s.interval.start < i.end);
        first..last
    }

    /// Remove the coverage of `i`, keeping what the overlapping spans cover outside it.
    fn cut(&mut self, i: Interval) {
        let range = self.overlapping(i);
        let mut kept = Vec::with_capacity(2);
        if let Some(first) = self.spans.get(range.start)
            && let Some(left) = Interval::new(first.interval.start, i.start)
        {
            kept.push(first.with_interval(left));
        }
        if range.end > range.start
            && let Some(last) = self.spans.get(range.end - 1)
            && let Some(right) = Interval::new(i.end, last.interval.end)
        {
            kept.push(last.with_interval(right));
        }
        self.spans.splice(range, kept);
    }

    /// Record a fetch: it replaces the coverage of the parts of older fetches it overlaps.
    pub fn record(&mut self, f: Fetched) {
        self.cut(f.interval);
        let at = self
            .spans
            .partition_point(|s| s.interval.start < f.interval.start);
        self.spans.insert(at, f);
    }

    /// Forget the coverage of `i` (its ticks will be fetched again).
    pub fn invalidate(&mut self, i: Interval) {
        self.cut(i);
    }

    /// The parts of `want` to fetch, aligned outward to `g`, merged, in order.
    pub fn gaps(&self, want: Interval, g: Granularity, at: Freshness) -> Vec<Interval> {
        let mut gaps = Vec::new();
        self.gaps_into(want, g, at, &mut gaps);
        gaps
    }

    /// [`Self::gaps`] into a buffer the caller reuses (cleared first): planning many keys
    /// allocates once.
    pub fn gaps_into(
        &self,
        want: Interval,
        g: Granularity,
        at: Freshness,
        gaps: &mut Vec<Interval>,
    ) {
        gaps.clear();
        let want = g.align_out(want);
        // Ticks from the first granule holding a volatile tick on are never final.
        let final_end = at.final_before.map_or(i64::MAX, |f| g.floor(f));
        let spans = &self.spans[self.overlapping(want)];
        // At most one gap before each span and one after the last: grow the buffer once.
        gaps.reserve(spans.len() + 1);
        // Coverage is recorded aligned, so most gaps already are: align only when needed.
        let aligned = g.ticks() == 1;
        let mut push = |gap: Interval| {
            // Unaligned, two gaps never touch (a covered span lies between them); aligned
            // outward, they may, and are merged.
            if aligned {
                return gaps.push(gap);
            }
            let gap = g.align_out(gap);
            match gaps.last_mut() {
                Some(last) if last.end >= gap.start => last.end = last.end.max(gap.end),
                _ => gaps.push(gap),
            }
        };
        // `spans` are sorted, disjoint and all overlap `want`: each starts before `want.end`.
        let mut cursor = want.start;
        for s in spans {
            let start = s.interval.start;
            let end = s.interval.end.min(final_end);
            if end <= start || !s.valid_at(at.now) {
                continue;
            }
            if cursor < start {
                push(Interval {
                    start: cursor,
                    end: start,
                });
            }
            cursor = cursor.max(end);
        }
        if let Some(gap) = Interval::new(cursor, want.end) {
            push(gap);
        }
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn iv(a: i64, b: i64) -> Interval {
        Interval::new(a, b).unwrap()
    }

    fn fetched(a: i64, b: i64, at: i64) -> Fetched {
        Fetched {
            interval: iv(a, b),
            fetched_at: at,
            valid_until: None,
        }
    }

    const NOW: Freshness = Freshness {
        now: 1_000,
        final_before: None,
    };

    #[test]
    fn the_issue_examples_by_day() {
        let day = Granularity::TICK;
        // Cached Jan 1-10; a query for Jan 5-15 fetches exactly Jan 11-15.
        let mut c = KeyCoverage::new();
        c.record(fetched(1, 11, 1));
        assert_eq!(c.gaps(iv(5, 16), day, NOW), [iv(11, 16)]);
        // Cached Jan 5-10; Jan 1-20 fetches Jan 1-4 and Jan 11-20.
        let mut c = KeyCoverage::new();
        c.record(fetched(5, 11, 1));
        assert_eq!(c.gaps(iv(1, 21), day, NOW), [iv(1, 5), iv(11, 21)]);
        // Cached Jan 1-10 and Jan 20-30; Jan 1-30 fetches only the hole, Jan 11-19.
        let mut c = KeyCoverage::new();
        c.record(fetched(1, 11, 1));
        c.record(fetched(20, 31, 2));
        assert_eq!(c.gaps(iv(1, 31), day, NOW), [iv(11, 20)]);
    }

    #[test]
    fn expired_and_volatile_coverage_is_fetched_again() {
        let mut c = KeyCoverage::new();
        c.record(Fetched {
            interval: iv(0, 10),
            fetched_at: 1,
            valid_until: Some(500),
        });
        c.record(fetched(10, 20, 2));
        let at = |now| Freshness {
            now,
            final_before: None,
        };
        assert!(c.gaps(iv(0, 20), Granularity::TICK, at(499)).is_empty());
        assert_eq!(c.gaps(iv(0, 20), Granularity::TICK, at(500)), [iv(0, 10)]);
        let volatile = Freshness {
            now: 0,
            final_before: Some(15),
        };
        assert_eq!(c.gaps(iv(0, 20), Granularity::TICK, volatile), [iv(15, 20)]);
    }

    #[test]
    fn gaps_are_aligned_to_the_granularity_and_merged() {
        let g = Granularity::new(10).unwrap();
        let mut c = KeyCoverage::new();
        c.record(fetched(10, 20, 1));
        c.record(fetched(30, 40, 1));
        // A request inside one granule asks for the whole granule.
        assert_eq!(c.gaps(iv(41, 42), g, NOW), [iv(40, 50)]);
        assert_eq!(c.gaps(iv(5, 35), g, NOW), [iv(0, 10), iv(20, 30)]);
    }

    #[test]
    fn a_newer_fetch_replaces_the_parts_it_overlaps() {
        let mut c = KeyCoverage::new();
        c.record(Fetched {
            interval: iv(0, 30),
            fetched_at: 1,
            valid_until: Some(100),
        });
        c.record(fetched(10, 20, 2));
        let spans: Vec<(i64, i64, Option<i64>)> = c
            .spans()
            .iter()
            .map(|s| (s.interval.start, s.interval.end, s.valid_until))
            .collect();
        assert_eq!(
            spans,
            [(0, 10, Some(100)), (10, 20, None), (20, 30, Some(100))]
        );
        c.invalidate(iv(5, 25));
        let left: Vec<Interval> = c.spans().iter().map(|s| s.interval).collect();
        assert_eq!(left, [iv(0, 5), iv(25, 30)]);
    }

    /// A tick-by-tick model: the last record covering a tick wins, invalidation clears it.
    #[derive(Debug, Clone)]
    enum Op {
        Record(i64, i64, Option<i64>),
        Invalidate(i64, i64),
    }

    fn op() -> impl Strategy<Value = Op> {
        prop_oneof![
            3 => (0i64..60, 1i64..20, proptest::option::of(0i64..20))
                .prop_map(|(a, n, v)| Op::Record(a, a + n, v)),
            1 => (0i64..60, 1i64..20).prop_map(|(a, n)| Op::Invalidate(a, a + n)),
        ]
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2000))]
        #[test]
        fn gaps_match_a_tick_by_tick_model(
            ops in proptest::collection::vec(op(), 0..12),
            want in (0i64..80, 1i64..40),
            g in 1i64..5,
            now in 0i64..20,
            final_before in proptest::option::of(0i64..90),
        ) {
            const N: usize = 256;
            let mut model: Vec<Option<Option<i64>>> = vec![None; N];
            let mut c = KeyCoverage::new();
            for (t, op) in ops.iter().enumerate() {
                match *op {
                    Op::Record(a, b, v) => {
                        c.record(Fetched { interval: iv(a, b), fetched_at: t as i64, valid_until: v });
                        for x in a..b { model[x as usize] = Some(v); }
                    }
                    Op::Invalidate(a, b) => {
                        c.invalidate(iv(a, b));
                        for x in a..b { model[x as usize] = None; }
                    }
                }
            }
            // Spans stay sorted and disjoint.
            for w in c.spans().windows(2) {
                prop_assert!(w[0].interval.end <= w[1].interval.start);
            }
            let g = Granularity::new(g).unwrap();
            let at = Freshness { now, final_before };
            let got = c.gaps(iv(want.0, want.0 + want.1), g, at);
            let want = g.align_out(iv(want.0, want.0 + want.1));
            let final_end = final_before.map_or(i64::MAX, |f| g.floor(f));
            let covered = |x: i64| {
                x < final_end
                    && model[x as usize].is_some_and(|v| v.is_none_or(|v| v > now))
            };
            // Model gaps: uncovered ticks, aligned outward, merged.
            let mut expected: Vec<Interval> = Vec::new();
            for x in want.start..want.end {
                if !covered(x) {
                    let gap = g.align_out(iv(x, x + 1));
                    match expected.last_mut() {
                        Some(last) if last.end >= gap.start => last.end = last.end.max(gap.end),
                        _ => expected.push(gap),
                    }
                }
            }
            prop_assert_eq!(got, expected);
        }
    }
}
