//! What a query asks of a pull-through table, read from the filters DataFusion pushes down:
//! the keys (`key = v`, `key IN (...)`) and the range (`BETWEEN`, `<`, `<=`, `>`, `>=`, `=` on
//! the range column), each conjunct of an `AND` counted, several bounds intersected.
//!
//! A predicate this module does not understand (an `OR`, a function of the column) is not an
//! error: DataFusion still applies it to the rows, it just does not bound the fetch.

use deltalake::arrow::datatypes::DataType;
use deltalake::datafusion::logical_expr::{BinaryExpr, Operator, utils::split_conjunction};
use deltalake::datafusion::prelude::Expr;
use deltalake::datafusion::scalar::ScalarValue;

use crate::interval::RangeKind;

const MICROS_PER_DAY: i64 = 86_400_000_000;

/// The keys and range a query's filters ask for.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Bounds {
    /// The keys as key texts ([`crate::key`]: every combination of the values asked for each
    /// key column), sorted, without repeats; `None`: a key column has no predicate naming its
    /// values.
    pub keys: Option<Vec<String>>,
    /// The first key column without such a predicate.
    pub unbounded_key: Option<String>,
    /// The lowest tick asked for (inclusive), if bounded below.
    pub start: Option<i64>,
    /// The tick after the highest asked for (exclusive), if bounded above.
    pub end: Option<i64>,
}

/// The bounds `filters` put on `key_columns` and on `range` (its column and kind).
pub fn bounds(
    filters: &[Expr],
    key_columns: &[String],
    range: Option<(&str, RangeKind)>,
) -> Bounds {
    let mut b = Bounds::default();
    let mut values: Vec<Option<Vec<String>>> = vec![None; key_columns.len()];
    for expr in filters.iter().flat_map(|f| split_conjunction(f)) {
        let mut is_key = false;
        for (column, known) in key_columns.iter().zip(values.iter_mut()) {
            if let Some(keys) = keys_of(expr, column) {
                is_key = true;
                *known = Some(match known.take() {
                    None => keys,
                    Some(prev) => prev.into_iter().filter(|k| keys.contains(k)).collect(),
                });
            }
        }
        if is_key {
            continue;
        }
        if let Some((column, kind)) = range {
            let (start, end) = range_of(expr, column, kind);
            if let Some(s) = start {
                b.start = Some(b.start.map_or(s, |p| p.max(s)));
            }
            if let Some(e) = end {
                b.end = Some(b.end.map_or(e, |p| p.min(e)));
            }
        }
    }
    b.unbounded_key = key_columns
        .iter()
        .zip(&values)
        .find(|(_, v)| v.is_none())
        .map(|(c, _)| c.clone());
    if b.unbounded_key.is_none() {
        // Every combination of the values of each column.
        let mut keys: Vec<Vec<String>> = vec![Vec::new()];
        for column_values in values.into_iter().flatten() {
            keys = keys
                .into_iter()
                .flat_map(|prefix| {
                    column_values.iter().map(move |v| {
                        let mut k = prefix.clone();
                        k.push(v.clone());
                        k
                    })
                })
                .collect();
        }
        let mut keys: Vec<String> = keys.iter().map(|k| crate::key::encode(k)).collect();
        keys.sort();
        keys.dedup();
        b.keys = Some(keys);
    }
    b
}

/// Whether `expr` is the column `name` (possibly cast).
fn is_column(expr: &Expr, name: &str) -> bool {
    match expr {
        Expr::Column(c) => c.name == name,
        Expr::Cast(c) => is_column(&c.expr, name),
        Expr::TryCast(c) => is_column(&c.expr, name),
        _ => false,
    }
}

/// The literal `expr` is (folding a cast of a literal).
fn literal(expr: &Expr) -> Option<ScalarValue> {
    match expr {
        Expr::Literal(v, _) => Some(v.clone()),
        Expr::Cast(c) => literal(&c.expr)?.cast_to(c.field.data_type()).ok(),
        Expr::TryCast(c) => literal(&c.expr)?.cast_to(c.field.data_type()).ok(),
        _ => None,
    }
}

/// A key value as the text keys are fetched and recorded by.
pub fn key_text(v: &ScalarValue) -> Option<String> {
    match v {
        ScalarValue::Utf8(Some(s))
        | ScalarValue::LargeUtf8(Some(s))
        | ScalarValue::Utf8View(Some(s)) => Some(s.clone()),
        v if v.is_null() => None,
        v if v.data_type().is_integer() => Some(v.to_string()),
        _ => None,
    }
}

fn keys_of(expr: &Expr, column: &str) -> Option<Vec<String>> {
    match expr {
        // DataFusion rewrites a short IN list as ORs of equalities.
        Expr::BinaryExpr(BinaryExpr {
            left,
            op: Operator::Or,
            right,
        }) => {
            let mut keys = keys_of(left, column)?;
            keys.extend(keys_of(right, column)?);
            Some(keys)
        }
        Expr::BinaryExpr(BinaryExpr {
            left,
            op: Operator::Eq,
            right,
        }) => {
            let value = if is_column(left, column) {
                literal(right)
            } else if is_column(right, column) {
                literal(left)
            } else {
                None
            }?;
            Some(key_text(&value).into_iter().collect())
        }
        Expr::InList(list) if !list.negated && is_column(&list.expr, column) => list
            .list
            .iter()
            .map(|e| literal(e).map(|v| key_text(&v)))
            .collect::<Option<Vec<_>>>()
            .map(|keys| keys.into_iter().flatten().collect()),
        _ => None,
    }
}

/// The tighter of two upper bounds (`None`: unbounded).
fn min_bound(a: Option<i64>, b: Option<i64>) -> Option<i64> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
}

/// The bounds one conjunct puts on the range column: `(start, end)`, half-open.
fn range_of(expr: &Expr, column: &str, kind: RangeKind) -> (Option<i64>, Option<i64>) {
    match expr {
        // Either side: bounded by the hull of both (fetching what lies between too).
        Expr::BinaryExpr(BinaryExpr {
            left,
            op: Operator::Or,
            right,
        }) => {
            let (ls, le) = range_of(left, column, kind);
            let (rs, re) = range_of(right, column, kind);
            (
                ls.zip(rs).map(|(a, b)| a.min(b)),
                le.zip(re).map(|(a, b)| a.max(b)),
            )
        }
        Expr::BinaryExpr(BinaryExpr {
            left,
            op: Operator::And,
            right,
        }) => {
            let (ls, le) = range_of(left, column, kind);
            let (rs, re) = range_of(right, column, kind);
            (ls.max(rs), min_bound(le, re))
        }
        Expr::BinaryExpr(BinaryExpr { left, op, right }) => {
            let (op, value) = if is_column(left, column) {
                (*op, literal(right))
            } else if is_column(right, column) {
                match op.swap() {
                    Some(op) => (op, literal(left)),
                    None => return (None, None),
                }
            } else {
                return (None, None);
            };
            let Some(value) = value else {
                return (None, None);
            };
            let floor = tick(&value, kind, false);
            let ceil = tick(&value, kind, true);
            match op {
                Operator::Eq => (ceil, floor.map(|f| f.saturating_add(1))),
                Operator::GtEq => (ceil, None),
                Operator::Gt => (floor.map(|f| f.saturating_add(1)), None),
                Operator::Lt => (None, ceil),
                Operator::LtEq => (None, floor.map(|f| f.saturating_add(1))),
                _ => (None, None),
            }
        }
        Expr::Between(b) if !b.negated && is_column(&b.expr, column) => (
            literal(&b.low).and_then(|v| tick(&v, kind, true)),
            literal(&b.high)
                .and_then(|v| tick(&v, kind, false))
                .map(|c| c.saturating_add(1)),
        ),
        _ => (None, None),
    }
}

/// `v` in ticks of `kind` (days for dates, µs for timestamps), rounded down, or up when
/// `round_up`: a tick `t >= v` is `t >= ceil(v)`, `t <= v` is `t < floor(v) + 1`.
fn tick(v: &ScalarValue, kind: RangeKind, round_up: bool) -> Option<i64> {
    let micros = |n: i64, per: i64| -> i64 {
        let q = n.div_euclid(per);
        if round_up && n.rem_euclid(per) != 0 {
            q + 1
        } else {
            q
        }
    };
    // The value in µs since the epoch, or as a plain integer.
    let (value, is_time) = match v {
        ScalarValue::Date32(Some(d)) => (i64::from(*d).checked_mul(MICROS_PER_DAY)?, true),
        ScalarValue::Date64(Some(ms)) => (ms.checked_mul(1_000)?, true),
        ScalarValue::TimestampSecond(Some(s), _) => (s.checked_mul(1_000_000)?, true),
        ScalarValue::TimestampMillisecond(Some(ms), _) => (ms.checked_mul(1_000)?, true),
        ScalarValue::TimestampMicrosecond(Some(us), _) => (*us, true),
        ScalarValue::TimestampNanosecond(Some(ns), _) => (micros(*ns, 1_000), true),
        v if v.data_type().is_integer() => (
            v.cast_to(&DataType::Int64).ok().and_then(|v| match v {
                ScalarValue::Int64(i) => i,
                _ => None,
            })?,
            false,
        ),
        _ => return None,
    };
    Some(match (kind, is_time) {
        (RangeKind::Date, true) => micros(value, MICROS_PER_DAY),
        _ => value,
    })
}

#[cfg(test)]
mod tests {
    use deltalake::datafusion::prelude::{col, lit};

    use super::*;

    fn day(d: i32) -> Expr {
        lit(ScalarValue::Date32(Some(d)))
    }

    fn bounds(filters: &[Expr], key: &str, range: Option<(&str, RangeKind)>) -> Bounds {
        super::bounds(filters, &[key.to_string()], range)
    }

    #[test]
    fn several_key_columns_ask_for_every_combination_and_name_the_unbounded_one() {
        let cols = ["symbol".to_string(), "venue".to_string()];
        let b = super::bounds(
            &[
                col("symbol").in_list(vec![lit("A"), lit("B")], false),
                col("venue").eq(lit("X")),
            ],
            &cols,
            None,
        );
        assert_eq!(
            b.keys,
            Some(vec![r#"["A","X"]"#.to_string(), r#"["B","X"]"#.to_string()])
        );
        let b = super::bounds(&[col("symbol").eq(lit("A"))], &cols, None);
        assert_eq!((b.keys, b.unbounded_key), (None, Some("venue".to_string())));
    }

    #[test]
    fn keys_and_ranges_are_read_from_each_predicate_form() {
        let k = "symbol";
        let r = Some(("day", RangeKind::Date));
        let b = bounds(
            &[col(k)
                .eq(lit("AAPL"))
                .and(col("day").between(day(5), day(15)))],
            k,
            r,
        );
        assert_eq!(
            (b.keys, b.start, b.end),
            (Some(vec!["AAPL".into()]), Some(5), Some(16))
        );
        let b = bounds(
            &[
                col(k).in_list(vec![lit("b"), lit("a"), lit("b")], false),
                col("day").gt(day(1)),
                col("day").lt_eq(day(9)),
                day(8).gt(col("day")),
            ],
            k,
            r,
        );
        assert_eq!(
            (b.keys, b.start, b.end),
            (Some(vec!["a".into(), "b".into()]), Some(2), Some(8))
        );
        // Two key predicates intersect; an OR of ranges bounds by their hull, an OR with an
        // unbounded side bounds nothing.
        let b = bounds(
            &[
                col(k).in_list(vec![lit("a"), lit("b")], false),
                col(k).eq(lit("b")).or(col(k).eq(lit("c"))),
                col("day").eq(day(3)).or(col("day").eq(day(9))),
            ],
            k,
            r,
        );
        assert_eq!(
            (b.keys, b.start, b.end),
            (Some(vec!["b".into()]), Some(3), Some(10))
        );
        let b = bounds(&[col("day").eq(day(3)).or(col("x").eq(day(9)))], k, r);
        assert_eq!((b.start, b.end), (None, None));
        let b = bounds(&[col(k).eq(lit("a")).or(col("x").eq(lit("b")))], k, r);
        assert_eq!(b.keys, None);
        // A NOT IN is no key list.
        assert_eq!(
            bounds(&[col(k).in_list(vec![lit("a")], true)], k, r).keys,
            None
        );
    }

    #[test]
    fn timestamps_round_outwards_into_ticks() {
        let ts = |ns: i64| lit(ScalarValue::TimestampNanosecond(Some(ns), None));
        let r = Some(("t", RangeKind::Timestamp));
        let b = bounds(&[col("t").gt_eq(ts(1_500)), col("t").lt(ts(9_001))], "k", r);
        assert_eq!((b.start, b.end), (Some(2), Some(10)));
        // A timestamp bound on a date column takes whole days.
        let r = Some(("d", RangeKind::Date));
        let noon = lit(ScalarValue::TimestampMicrosecond(
            Some(MICROS_PER_DAY + MICROS_PER_DAY / 2),
            None,
        ));
        let b = bounds(&[col("d").lt_eq(noon)], "k", r);
        assert_eq!(b.end, Some(2));
        // Integer keys are text.
        let b = bounds(&[col("id").eq(lit(42_i64))], "id", None);
        assert_eq!(b.keys, Some(vec!["42".into()]));
    }
}
