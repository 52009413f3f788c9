"""The peers cacheness-bench races, on the standard workloads (shared/WORKLOADS.md).

`python peers.py W1 [--quick] --dir DIR` runs the peers of one workload and prints one JSON
object: for each peer, the same figures our runner reports for that workload, timed by the same
rules (medians, nearest-rank p99, MB = 10^6 bytes, warm-up before each timed loop, every value
checked against what was put outside the timed region). `cacheness-bench --peers PYTHON` runs
this script right after each of its own workloads, so the two sides are measured within
seconds of each other, and prints ours / peer for each figure.

Peers:
- W1, W5, W7: diskcache (SQLite underneath) and bare SQLite (WAL, one row per entry, the
  value pickled), the small-entry stores our users would otherwise pick;
- W2: joblib.Memory (a cached function returning the array; compression off, its default),
  and its `mmap_mode="r"` load;
- W3: polars `write_parquet`/`read_parquet` and pyarrow `write_table`/`read_table`, each with
  its own default codec.
"""

import argparse
import json
import math
import os
import pickle
import sqlite3
import subprocess
import sys
import tempfile
import time

import numpy as np

W1_MODEL, W1_DATASET = "resnet50", "imagenet"
REPS = 3
PROCESSES = 8


def summary(samples_us):
    """p50 (upper middle), nearest-rank p99 and ops/s of per-operation samples in µs."""
    s = sorted(samples_us)
    n = len(s)
    p99 = s[max(math.ceil(0.99 * n) - 1, 0)]
    return {
        "p50_us": round(s[n // 2], 3),
        "p99_us": round(p99, 3),
        "ops_per_s": round(n / (sum(s) / 1e6), 3),
    }


def median(values):
    s = sorted(values)
    return s[len(s) // 2]


def collect(n, op):
    """Time `n` calls of `op(i)`, one sample in µs each; returns (samples, results)."""
    samples, results = [], []
    clock = time.perf_counter_ns
    for i in range(n):
        t = clock()
        r = op(i)
        samples.append((clock() - t) / 1e3)
        results.append(r)
    return samples, results


def mb_per_s(nbytes, seconds):
    return round(nbytes / 1e6 / seconds, 3)


def dir_bytes(path):
    total = 0
    for root, _, files in os.walk(path):
        for f in files:
            try:
                total += os.path.getsize(os.path.join(root, f))
            except OSError:
                pass
    return total


def small_value(i):
    return {"results": [1, 2, 3], "i": i}


class BareSqlite:
    """A key-value table in SQLite as a careful user would set it up: WAL, synchronous=NORMAL
    (diskcache's settings), autocommit, the value pickled."""

    def __init__(self, path):
        self.db = sqlite3.connect(path, isolation_level=None, timeout=60)
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("PRAGMA synchronous=NORMAL")
        self.db.execute("CREATE TABLE IF NOT EXISTS kv (k TEXT PRIMARY KEY, v BLOB)")

    def set(self, key, value):
        self.db.execute(
            "INSERT OR REPLACE INTO kv (k, v) VALUES (?, ?)", (key, pickle.dumps(value))
        )

    def get(self, key):
        row = self.db.execute("SELECT v FROM kv WHERE k = ?", (key,)).fetchone()
        return None if row is None else pickle.loads(row[0])

    def count(self):
        return self.db.execute("SELECT count(*) FROM kv").fetchone()[0]

    def close(self):
        self.db.close()


def open_store(kind, directory):
    if kind == "diskcache":
        import diskcache

        return diskcache.Cache(directory)
    os.makedirs(directory, exist_ok=True)
    return BareSqlite(os.path.join(directory, "kv.sqlite"))


def w1_key(kind, i, proc=None):
    # diskcache takes the parameters as a tuple key (it pickles it); SQLite a text key.
    parts = (W1_MODEL, W1_DATASET, i) if proc is None else (W1_MODEL, W1_DATASET, proc, i)
    return parts if kind == "diskcache" else "/".join(map(str, parts))


def w1(args):
    n = 1_000 if args.quick else 10_000
    out = {}
    for kind in ("diskcache", "sqlite"):
        store = open_store(kind, tempfile.mkdtemp(prefix=f"w1-{kind}-", dir=args.dir))
        for i in range(100):
            store.set(w1_key(kind, f"warmup-{i}"), small_value(i))
            store.get(w1_key(kind, f"warmup-{i}"))
        put, _ = collect(n, lambda i: store.set(w1_key(kind, i), small_value(i)))
        hit, got = collect(n, lambda i: store.get(w1_key(kind, i)))
        miss, _ = collect(n, lambda i: store.get(w1_key(kind, -i - 1)))
        out[kind] = {
            "put": summary(put),
            "get_hit": summary(hit),
            "get_miss": summary(miss),
            "values_checked": all(g == small_value(i) for i, g in enumerate(got)),
        }
        store.close()
    return out


def w2_arrays(quick):
    small, big = (100_000, 1_000_000) if quick else (1_000_000, 10_000_000)
    runs = np.repeat(
        np.random.default_rng(3).integers(0, 999, size=big // 100, dtype=np.int32), 100
    )
    return [
        ("float64_small", np.random.default_rng(1).standard_normal(small)),
        ("float64_big", np.random.default_rng(2).standard_normal(big)),
        ("int32_runs", runs),
    ]


ARRAYS = {}


def produce(label, rep):
    """The function joblib.Memory caches: returns the workload's array."""
    return ARRAYS[label]


def w2(args):
    import joblib

    arrays = []
    for label, arr in w2_arrays(args.quick):
        ARRAYS[label] = arr
        location = tempfile.mkdtemp(prefix="w2-joblib-", dir=args.dir)
        cached = joblib.Memory(location, verbose=0).cache(produce)
        mapped = joblib.Memory(location, mmap_mode="r", verbose=0).cache(produce)
        cached(label, "warmup")
        cached(label, "warmup")
        before = dir_bytes(location)
        put, _ = collect(REPS, lambda i: cached(label, i))
        stored = dir_bytes(location) - before
        get, back = collect(REPS, lambda i: cached(label, i))
        mmap_get, maps = collect(REPS, lambda i: mapped(label, i))
        checked = all(np.array_equal(b, arr) for b in back) and all(
            isinstance(m, np.memmap) and np.array_equal(m, arr) for m in maps
        )
        nbytes = arr.nbytes
        arrays.append(
            {
                "array": label,
                "bytes": nbytes,
                "put_mb_s": mb_per_s(nbytes, median(put) / 1e6),
                "get_mb_s": mb_per_s(nbytes, median(get) / 1e6),
                "mmap_get_mb_s": mb_per_s(nbytes, median(mmap_get) / 1e6),
                "stored_over_raw": round(stored / (REPS * nbytes), 4),
                "values_checked": checked,
            }
        )
        del back, maps
    return {"joblib": {"arrays": arrays}}


def w3_frame(rows):
    import polars as pl

    rng = np.random.default_rng(1)
    cats = np.array([f"category_{i:02}" for i in range(20)])
    return pl.DataFrame(
        {
            "id": np.arange(rows, dtype=np.int64),
            "x1": rng.standard_normal(rows),
            "x2": rng.random(rows),
            "category": cats[rng.integers(0, 20, rows)],
            "timestamp": (
                1_700_000_000_000_000 + np.arange(rows, dtype=np.int64) * 1_000_000
            ).astype("datetime64[us]"),
            "flag": rng.random(rows) < 0.5,
        }
    )


def w3(args):
    import polars as pl
    import pyarrow.parquet as pq

    rows = 100_000 if args.quick else 1_000_000
    df = w3_frame(rows)
    table = df.to_arrow()
    nbytes = table.nbytes
    work = tempfile.mkdtemp(prefix="w3-", dir=args.dir)
    peers = {
        "polars": (
            lambda p: df.write_parquet(p),
            pl.read_parquet,
            lambda got: got.equals(df),
        ),
        "pyarrow": (
            lambda p: pq.write_table(table, p),
            pq.read_table,
            lambda got: got.equals(table),
        ),
    }
    out = {}
    for name, (write, read, same) in peers.items():
        path = lambda i: os.path.join(work, f"{name}-{i}.parquet")
        write(path("warmup"))
        read(path("warmup"))
        put, _ = collect(REPS, lambda i: write(path(i)))
        get, back = collect(REPS, lambda i: read(path(i)))
        out[name] = {
            "put_mb_s": mb_per_s(nbytes, median(put) / 1e6),
            "get_mb_s": mb_per_s(nbytes, median(get) / 1e6),
            "put_ms": round(median(put) / 1e3, 3),
            "get_ms": round(median(get) / 1e3, 3),
            "stored_bytes": os.path.getsize(path(0)),
            "values_checked": all(same(b) for b in back),
        }
    out["arrow_bytes"] = nbytes
    return out


def w5(args):
    import diskcache

    n = 100 if args.quick else 1_000
    cache = diskcache.Cache(tempfile.mkdtemp(prefix="w5-diskcache-", dir=args.dir))

    @cache.memoize()
    def f(i):
        return small_value(i)

    for i in range(10):
        f(-i - 1)
    first, _ = collect(n, f)
    second, got = collect(n, f)
    cache.close()
    return {
        "diskcache": {
            "first_call": summary(first),
            "second_call": summary(second),
            "values_checked": all(g == small_value(i) for i, g in enumerate(got)),
        }
    }


def w7_child(args):
    kind, proc, n = args.w7_child, args.proc, args.n
    store = open_store(kind, args.dir)
    print("ready", flush=True)
    sys.stdin.readline()
    put, _ = collect(n, lambda i: store.set(w1_key(kind, i, proc), small_value(i)))
    ok = all(store.get(w1_key(kind, i, proc)) == small_value(i) for i in range(n))
    store.close()
    print(json.dumps({"put": summary(put), "read_back_ok": ok}), flush=True)


def race_children(commands):
    """Start one process per command, wait until each has printed its ready line, tell them
    all to go at once, and return their JSON reports and the wall time from go to the last
    report. Interpreter start-up and imports are not timed: the clock starts when every child
    has its store open, as ours does."""
    children = [subprocess.Popen(c, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
                for c in commands]
    for c in children:
        c.stdout.readline()
    start = time.perf_counter()
    for c in children:
        c.stdin.write("go\n")
        c.stdin.flush()
    reports = [json.loads(c.communicate()[0]) for c in children]
    return reports, time.perf_counter() - start


def w7(args):
    n = 200 if args.quick else 1_000
    out = {}
    for kind in ("diskcache", "sqlite"):
        location = tempfile.mkdtemp(prefix=f"w7-{kind}-", dir=args.dir)
        open_store(kind, location).close()
        reports, wall = race_children(
            [sys.executable, os.path.abspath(__file__), "W7", "--dir", location,
             "--w7-child", kind, "--proc", str(p), "--n", str(n)]
            for p in range(PROCESSES))
        store = open_store(kind, location)
        listed = len(store) if kind == "diskcache" else store.count()
        store.close()
        out[kind] = {
            "per_process": reports,
            "wall_s": round(wall, 4),
            "entries_per_s": round(PROCESSES * n / wall, 1),
            "put_p99_max_us": max(r["put"]["p99_us"] for r in reports),
            "listed": listed,
            "all_present": listed == PROCESSES * n,
        }
    return out


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("workload", choices=["W1", "W2", "W3", "W5", "W7"])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--dir", required=True, help="scratch directory (left for the caller)")
    parser.add_argument("--w7-child", choices=["diskcache", "sqlite"], help=argparse.SUPPRESS)
    parser.add_argument("--proc", type=int, default=0, help=argparse.SUPPRESS)
    parser.add_argument("--n", type=int, default=1_000, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.w7_child:
        return w7_child(args)
    run = {"W1": w1, "W2": w2, "W3": w3, "W5": w5, "W7": w7}[args.workload]
    versions = {}
    for module in ("diskcache", "joblib", "numpy", "polars", "pyarrow"):
        try:
            versions[module] = __import__(module).__version__
        except ImportError:
            pass
    print(json.dumps({"workload": args.workload, "peers": run(args), "versions": versions}))


if __name__ == "__main__":
    main()
