"""Pull-through tables with Python fetchers: only the gaps are fetched, once, across threads
and processes; rows come back as DataFrames and through SQL."""

from __future__ import annotations

import datetime as dt
import json
import multiprocessing
import subprocess
import threading

import pyarrow as pa
import pytest

import cacheness

COLUMNS = {"symbol": "str", "date": "date", "close": "float"}


def prices(symbol, start, end, calls=None, kind="pyarrow"):
    """One row per day of [start, end): close = day of the month."""
    if calls is not None:
        calls.append((symbol, start, end))
    days = [start + dt.timedelta(days=i) for i in range((end - start).days)]
    table = pa.table({"symbol": [symbol] * len(days), "date": days,
                      "close": [float(d.day) for d in days]})
    if kind == "pandas":
        return table.to_pandas()
    if kind == "polars":
        import polars as pl
        return pl.from_arrow(table)
    return table


@pytest.mark.parametrize("kind", ["pyarrow", "pandas", "polars"])
def test_only_the_gaps_are_fetched_and_rows_come_back_as_a_dataframe(cache, kind):
    calls = []
    table = cacheness.PullTable.for_timeseries(
        cache, "prices", fetch=lambda s, a, b: prices(s, a, b, calls, kind),
        key="symbol", range="date", columns=COLUMNS)
    jan = dt.date(2024, 1, 1)
    df = table.get(symbol="AAPL", start=jan, end=dt.date(2024, 1, 11))
    assert list(df["close"]) == [float(d) for d in range(1, 11)]
    assert calls == [("AAPL", jan, dt.date(2024, 1, 11))]
    assert len(table.get(symbol="AAPL", start=dt.date(2024, 1, 3), end=dt.date(2024, 1, 5))) == 2
    assert len(calls) == 1, "a covered range is not fetched again"
    wider = table.get(symbol="AAPL", start=dt.date(2023, 12, 30), end=dt.date(2024, 1, 13))
    assert len(wider) == 14
    assert sorted(calls[1:]) == [("AAPL", dt.date(2023, 12, 30), jan),
                                 ("AAPL", dt.date(2024, 1, 11), dt.date(2024, 1, 13))]
    assert len(table.get(symbol=["AAPL", "MSFT"], start=jan, end=dt.date(2024, 1, 3))) == 4
    assert calls[-1] == ("MSFT", jan, dt.date(2024, 1, 3))
    rows = cache.sql("SELECT count(*) AS n FROM prices WHERE symbol = 'AAPL' "
                     "AND date >= '2023-12-30' AND date < '2024-01-13'")
    assert rows.column("n")[0].as_py() == 14


def test_invalidate_refetches_and_a_failing_fetcher_is_an_error_that_stores_nothing(cache):
    calls = []
    table = cacheness.PullTable.for_timeseries(
        cache, "p", fetch=lambda s, a, b: prices(s, a, b, calls), key="symbol", range="date",
        columns=COLUMNS)
    jan = dt.date(2024, 1, 1)
    table.get(symbol="A", start=jan, end=dt.date(2024, 1, 3))
    table.invalidate(symbol="A")
    table.get(symbol="A", start=jan, end=dt.date(2024, 1, 3))
    assert len(calls) == 2

    def broken(symbol, start, end):
        raise RuntimeError("the source is down")

    bad = cacheness.PullTable.for_timeseries(cache, "bad", fetch=broken, key="symbol",
                                             range="date", columns=COLUMNS)
    with pytest.raises(cacheness.CacheError, match="the source is down"):
        bad.get(symbol="A", start=jan, end=dt.date(2024, 1, 3))
    wrong = cacheness.PullTable.for_timeseries(cache, "wrong", fetch=lambda s, a, b: [1, 2],
                                               key="symbol", range="date", columns=COLUMNS)
    with pytest.raises(cacheness.CacheError, match="not a pyarrow, pandas or polars table"):
        wrong.get(symbol="A", start=jan, end=dt.date(2024, 1, 3))
    with pytest.raises(TypeError, match="key column"):
        table.get(start=jan, end=dt.date(2024, 1, 3))
    with pytest.raises(ValueError, match="column close: unknown type \"decimal\""):
        cacheness.PullTable.for_timeseries(cache, "typo", fetch=broken, key="symbol",
                                           range="date", columns={**COLUMNS, "close": "decimal"})


def test_a_lookup_table_fetches_each_missing_key_once(cache):
    calls = []

    def users(user_id):
        calls.append(user_id)
        return pa.table({"user_id": [user_id], "name": [f"user {user_id}"]})

    table = cacheness.PullTable.for_lookup_table(
        cache, "users", fetch=users, key="user_id", columns={"user_id": "int", "name": "str"})
    assert list(table.get(user_id=[1, 2])["name"]) == ["user 1", "user 2"]
    assert list(table.get(user_id=2)["name"]) == ["user 2"]
    assert sorted(calls) == [1, 2]


def test_a_timestamp_range_is_fetched_with_utc_datetimes(cache):
    seen = []

    def ticks(sensor, start, end):
        seen.append((start, end))
        return pa.table({"sensor": [sensor], "at": [start], "v": [1.0]})

    table = cacheness.PullTable.for_timeseries(
        cache, "ticks", fetch=ticks, key="sensor", range="at",
        columns={"sensor": "str", "at": "timestamp", "v": "float"})
    start = dt.datetime(2024, 5, 1, 12, tzinfo=dt.timezone.utc)
    table.get(sensor="s1", start=start, end=start + dt.timedelta(seconds=30))
    assert seen == [(start, start + dt.timedelta(seconds=30))]


def test_eight_threads_fetch_a_gap_once(cache):
    calls = []
    lock = threading.Lock()

    def slow(symbol, start, end):
        with lock:
            calls.append((symbol, start, end))
        return prices(symbol, start, end)

    table = cacheness.PullTable.for_timeseries(cache, "t", fetch=slow, key="symbol",
                                               range="date", columns=COLUMNS)
    barrier = threading.Barrier(8)
    sizes = []

    def run():
        barrier.wait()
        sizes.append(len(table.get(symbol="A", start=dt.date(2024, 1, 1),
                                   end=dt.date(2024, 2, 1))))

    threads = [threading.Thread(target=run) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sizes == [31] * 8
    assert len(calls) == 1, calls


def _get_in_process(root: str, marks: str, barrier) -> int:
    def fetch(symbol, start, end):
        with open(marks, "a") as f:
            f.write("fetched\n")
        return prices(symbol, start, end)

    cache = cacheness.Cache(root)
    table = cacheness.PullTable.for_timeseries(cache, "shared", fetch=fetch, key="symbol",
                                               range="date", columns=COLUMNS)
    barrier.wait()
    n = len(table.get(symbol="A", start=dt.date(2024, 1, 1), end=dt.date(2024, 3, 1)))
    cache.close()
    return n


def test_four_processes_fetch_a_gap_once(tmp_path):
    ctx = multiprocessing.get_context("spawn")
    root, marks = tmp_path / "cache", tmp_path / "marks.txt"
    cacheness.Cache(root).close()
    barrier = ctx.Manager().Barrier(4)
    with ctx.Pool(4) as pool:
        sizes = pool.starmap(_get_in_process, [(str(root), str(marks), barrier)] * 4)
    assert sizes == [60] * 4
    assert marks.read_text().count("fetched") == 1


def test_sql_fetches_the_gaps_a_statement_reads_through_the_python_fetcher(cache):
    calls = []
    table = cacheness.PullTable.for_timeseries(
        cache, "px", fetch=lambda s, a, b: prices(s, a, b, calls), key="symbol", range="date",
        columns=COLUMNS)
    query = ("SELECT date, close FROM px WHERE symbol = 'AAPL' "
             "AND date >= '2024-02-01' AND date < '2024-02-04' ORDER BY date")
    rows = cache.sql(query)
    assert rows.column("close").to_pylist() == [1.0, 2.0, 3.0]
    assert calls == [("AAPL", dt.date(2024, 2, 1), dt.date(2024, 2, 4))]
    assert cache.sql(query).num_rows == 3
    assert len(calls) == 1, "SQL reads what it fetched without fetching it again"
    # What SQL fetched, a get reads without a fetch, and the other way round.
    assert len(table.get(symbol="AAPL", start=dt.date(2024, 2, 2), end=dt.date(2024, 2, 4))) == 2
    assert len(calls) == 1

    def broken(symbol, start, end):
        raise RuntimeError("the source is down")

    cacheness.PullTable.for_timeseries(cache, "down", fetch=broken, key="symbol", range="date",
                                       columns=COLUMNS)
    with pytest.raises(cacheness.SqlError, match="the source is down"):
        cache.sql("SELECT * FROM down WHERE symbol = 'A' "
                  "AND date >= '2024-01-01' AND date < '2024-01-03'")


def test_the_cli_reads_what_a_python_fetcher_fetched_and_cannot_fetch_more(cache, tmp_path, cli):
    table = cacheness.PullTable.for_timeseries(
        cache, "quotes", fetch=prices, key="symbol", range="date", columns=COLUMNS)
    table.get(symbol="AAPL", start=dt.date(2024, 3, 1), end=dt.date(2024, 3, 6))
    base = [cli, "--dir", str(tmp_path / "cache"), "sql", "--format", "json"]
    fetched = subprocess.run(
        base + ["SELECT count(*) AS n FROM quotes WHERE symbol = 'AAPL' "
                "AND date >= '2024-03-01' AND date < '2024-03-06'"],
        capture_output=True, text=True)
    assert fetched.returncode == 0, fetched.stderr
    assert [json.loads(line) for line in fetched.stdout.splitlines()] == [{"n": 5}]
    gap = subprocess.run(
        base + ["SELECT * FROM quotes WHERE symbol = 'AAPL' "
                "AND date >= '2024-03-01' AND date < '2024-03-09'"],
        capture_output=True, text=True)
    assert gap.returncode != 0
    assert "has no source in its settings" in gap.stderr
