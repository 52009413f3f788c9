//! Half-open intervals of range ticks, and the granularity ranges are fetched in.
//!
//! A range column's values are mapped to `i64` **ticks**: an integer column is its own ticks, a
//! date is days since 1970-01-01, a timestamp is microseconds since the epoch. A table's
//! granularity (a day of a timestamp column, say) is the smallest unit a fetch asks for: every
//! interval fetched or recorded is aligned outward to it.

/// `[start, end)` in ticks; never empty.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Interval {
    /// The first tick in it.
    pub start: i64,
    /// The first tick after it.
    pub end: i64,
}

impl Interval {
    /// `[start, end)`, or `None` when it would be empty.
    pub fn new(start: i64, end: i64) -> Option<Interval> {
        (start < end).then_some(Interval { start, end })
    }

    /// `[first, last]` (both included, as SQL's `BETWEEN`), or `None` when `last < first` or
    /// `last` is the largest tick.
    pub fn inclusive(first: i64, last: i64) -> Option<Interval> {
        Interval::new(first, last.checked_add(1)?)
    }

    /// Number of ticks in it.
    pub fn len(&self) -> u64 {
        self.end.abs_diff(self.start)
    }

    /// Never true: intervals are not empty (for clippy's `len` rule).
    pub fn is_empty(&self) -> bool {
        false
    }

    /// Whether `tick` is in it.
    pub fn contains(&self, tick: i64) -> bool {
        self.start <= tick && tick < self.end
    }

    /// The ticks in both, if any.
    pub fn intersect(&self, other: &Interval) -> Option<Interval> {
        Interval::new(self.start.max(other.start), self.end.min(other.end))
    }
}

/// The parts of `i` outside every interval of `others` (sorted by start, disjoint), in order.
pub fn subtract(i: Interval, others: &[Interval]) -> Vec<Interval> {
    let mut out = Vec::new();
    let mut cursor = i.start;
    for o in others.iter().filter(|o| o.end > i.start && o.start < i.end) {
        if cursor < o.start {
            out.push(Interval {
                start: cursor,
                end: o.start,
            });
        }
        cursor = cursor.max(o.end);
    }
    if cursor < i.end {
        out.push(Interval {
            start: cursor,
            end: i.end,
        });
    }
    out
}

impl std::fmt::Display for Interval {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "[{}, {})", self.start, self.end)
    }
}

/// What a range column holds, which says what "now" is as a tick. In settings (`settings.json`)
/// it is written `integer`, `date` or `timestamp`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RangeKind {
    /// Integers (page numbers, sequence ids): there is no "now".
    Integer,
    /// Dates: ticks are days since 1970-01-01.
    Date,
    /// Timestamps: ticks are microseconds since the epoch.
    Timestamp,
}

impl RangeKind {
    /// An interval as this kind of range column reads it: ` [2024-01-01, 2024-01-11)`, as
    /// `EXPLAIN` and errors show it; empty for a lookup table (`lookup`), which has no range.
    pub fn interval_text(self, interval: Interval, lookup: bool) -> String {
        if lookup {
            return String::new();
        }
        format!(
            " [{}, {})",
            self.text(interval.start),
            self.text(interval.end)
        )
    }

    /// The kind's name in settings: `integer`, `date` or `timestamp`.
    pub fn name(self) -> &'static str {
        match self {
            RangeKind::Integer => "integer",
            RangeKind::Date => "date",
            RangeKind::Timestamp => "timestamp",
        }
    }

    /// The kind named `name` ([`Self::name`]).
    pub fn from_name(name: &str) -> Option<RangeKind> {
        [RangeKind::Integer, RangeKind::Date, RangeKind::Timestamp]
            .into_iter()
            .find(|k| k.name() == name)
    }

    /// `tick` as the range column reads: `2024-01-05` for dates, RFC 3339 for timestamps,
    /// digits for integers.
    pub fn text(self, tick: i64) -> String {
        match self {
            RangeKind::Integer => tick.to_string(),
            RangeKind::Date => chrono::NaiveDate::from_ymd_opt(1970, 1, 1)
                .and_then(|e| e.checked_add_signed(chrono::Duration::days(tick)))
                .map_or_else(|| tick.to_string(), |d| d.to_string()),
            RangeKind::Timestamp => chrono::DateTime::from_timestamp_micros(tick).map_or_else(
                || tick.to_string(),
                |t| t.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true),
            ),
        }
    }

    /// `now_micros` (µs since the epoch) as a tick of this kind; `None` for integers.
    pub fn now_tick(self, now_micros: i64) -> Option<i64> {
        match self {
            RangeKind::Integer => None,
            RangeKind::Date => Some(now_micros.div_euclid(86_400_000_000)),
            RangeKind::Timestamp => Some(now_micros),
        }
    }
}

/// The unit ranges are fetched in, in ticks (at least 1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Granularity(i64);

impl Granularity {
    /// One tick: integers, dates by the day.
    pub const TICK: Granularity = Granularity(1);
    /// A day of a microsecond timestamp.
    pub const DAY_OF_MICROS: Granularity = Granularity(86_400_000_000);
    /// An hour of a microsecond timestamp.
    pub const HOUR_OF_MICROS: Granularity = Granularity(3_600_000_000);
    /// A minute of a microsecond timestamp.
    pub const MINUTE_OF_MICROS: Granularity = Granularity(60_000_000);

    /// A granularity of `ticks` (at least 1), or `None`.
    pub fn new(ticks: i64) -> Option<Granularity> {
        (ticks >= 1).then_some(Granularity(ticks))
    }

    /// Its size in ticks.
    pub fn ticks(self) -> i64 {
        self.0
    }

    /// The largest multiple of the granularity at or below `tick` (saturating).
    pub fn floor(self, tick: i64) -> i64 {
        tick.saturating_sub(tick.rem_euclid(self.0))
    }

    /// The smallest multiple of the granularity at or above `tick` (saturating).
    pub fn ceil(self, tick: i64) -> i64 {
        match tick.rem_euclid(self.0) {
            0 => tick,
            r => tick.saturating_add(self.0 - r),
        }
    }

    /// The smallest aligned interval holding `i`.
    pub fn align_out(self, i: Interval) -> Interval {
        let start = self.floor(i.start);
        let end = self.ceil(i.end).max(start.saturating_add(1));
        Interval { start, end }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn alignment_rounds_outward_on_both_sides_of_zero() {
        let g = Granularity::new(10).unwrap();
        assert_eq!(
            g.align_out(Interval::new(-15, 21).unwrap()),
            Interval::new(-20, 30).unwrap()
        );
        assert_eq!(
            g.align_out(Interval::new(10, 20).unwrap()),
            Interval::new(10, 20).unwrap()
        );
        assert_eq!(g.floor(i64::MIN), i64::MIN);
        assert_eq!(g.ceil(i64::MAX - 3), i64::MAX);
        assert!(Granularity::new(0).is_none());
    }

    #[test]
    fn subtraction_leaves_the_parts_outside() {
        let i = |a, b| Interval::new(a, b).unwrap();
        assert_eq!(
            subtract(i(0, 30), &[i(5, 10), i(20, 25)]),
            [i(0, 5), i(10, 20), i(25, 30)]
        );
        assert_eq!(subtract(i(0, 10), &[i(-5, 15)]), []);
        assert_eq!(subtract(i(0, 10), &[i(10, 15)]), [i(0, 10)]);
    }

    #[test]
    fn inclusive_bounds_and_intersections() {
        assert_eq!(Interval::inclusive(5, 15), Interval::new(5, 16));
        assert_eq!(Interval::inclusive(5, 4), None);
        assert_eq!(Interval::inclusive(0, i64::MAX), None);
        let a = Interval::new(0, 10).unwrap();
        assert_eq!(
            a.intersect(&Interval::new(5, 20).unwrap()),
            Interval::new(5, 10)
        );
        assert_eq!(a.intersect(&Interval::new(10, 20).unwrap()), None);
        assert_eq!(a.len(), 10);
        assert!(a.contains(0) && !a.contains(10));
    }

    #[test]
    fn ticks_are_written_as_the_range_column_reads() {
        assert_eq!(RangeKind::Date.text(19_723), "2024-01-01");
        assert_eq!(RangeKind::Integer.text(-4), "-4");
        assert_eq!(
            RangeKind::Timestamp.text(1_704_067_200_000_000),
            "2024-01-01T00:00:00Z"
        );
    }
}
