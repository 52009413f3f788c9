"""The Python API (`import cacheness`) beside the peers, on the standard workloads, in one run.

`python python_api.py --dir DIR [--quick] [--rust-bench PATH] [--json-out F]` runs, for each of
W1, W2, W3, W5, W6 and W7, the package's own figures and then the peers' (the functions of
`peers.py`, timed by the same rules, seconds later), and prints one table: each figure, ours,
the peer's, how many times better ours is, and the issue's target for it. With `--rust-bench`
(the release `cacheness-bench`), W2 and W3 are also run through the Rust API in the same run,
for the "≥ 0.9× the Rust API" targets. `benches/peers/python-api` makes the venv and runs this.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import peers  # noqa: E402  (the peers' workloads and timing rules)

import cacheness  # noqa: E402

PROCESSES = peers.PROCESSES


def params(i, proc=None):
    p = {"model": peers.W1_MODEL, "dataset": peers.W1_DATASET, "i": i}
    if proc is not None:
        p["proc"] = proc
    return p


def w1(args):
    n = 1_000 if args.quick else 10_000
    with cacheness.Cache(tempfile.mkdtemp(prefix="py-w1-", dir=args.dir)) as cache:
        for i in range(100):
            cache.put(peers.small_value(i), **params(f"warmup-{i}"))
            cache.get(**params(f"warmup-{i}"))
        put, _ = peers.collect(n, lambda i: cache.put(peers.small_value(i), **params(i)))
        hit, got = peers.collect(n, lambda i: cache.get(**params(i)))
        miss, _ = peers.collect(n, lambda i: cache.get(**params(-i - 1)))
    return {
        "put": peers.summary(put),
        "get_hit": peers.summary(hit),
        "get_miss": peers.summary(miss),
        "values_checked": all(g == peers.small_value(i) for i, g in enumerate(got)),
    }


def w2(args):
    out = []
    with cacheness.Cache(tempfile.mkdtemp(prefix="py-w2-", dir=args.dir)) as cache:
        for label, arr in peers.w2_arrays(args.quick):
            cache.put(arr, array=label, rep="warmup")
            cache.get(array=label, rep="warmup")
            put, _ = peers.collect(peers.REPS, lambda i: cache.put(arr, array=label, rep=i))
            get, back = peers.collect(peers.REPS, lambda i: cache.get(array=label, rep=i))
            out.append({
                "array": label,
                "put_mb_s": peers.mb_per_s(arr.nbytes, peers.median(put) / 1e6),
                "get_mb_s": peers.mb_per_s(arr.nbytes, peers.median(get) / 1e6),
                "values_checked": all(np.array_equal(b, arr) for b in back),
            })
    return {"arrays": out}


def w3(args):
    rows = 100_000 if args.quick else 1_000_000
    polars_frame = peers.w3_frame(rows)
    pandas_frame = polars_frame.to_pandas()
    out = {}
    with cacheness.Cache(tempfile.mkdtemp(prefix="py-w3-", dir=args.dir)) as cache:
        for name, frame, same in (
            ("polars", polars_frame, lambda got: got.equals(polars_frame)),
            ("pandas", pandas_frame, lambda got: got.equals(pandas_frame)),
        ):
            cache.put(frame, frame=name, rep="warmup")
            cache.get(frame=name, rep="warmup")
            put, _ = peers.collect(peers.REPS, lambda i: cache.put(frame, frame=name, rep=i))
            get, back = peers.collect(peers.REPS, lambda i: cache.get(frame=name, rep=i))
            out[name] = {
                "put_ms": round(peers.median(put) / 1e3, 3),
                "get_ms": round(peers.median(get) / 1e3, 3),
                "values_checked": all(same(b) for b in back),
            }
    return out


def w5(args):
    n = 100 if args.quick else 1_000
    with cacheness.Cache(tempfile.mkdtemp(prefix="py-w5-", dir=args.dir)) as cache:
        @cacheness.cached(cache=cache)
        def f(i):
            return peers.small_value(i)

        for i in range(10):
            f(-i - 1)
        first, _ = peers.collect(n, f)
        second, got = peers.collect(n, f)
    return {
        "first_call": peers.summary(first),
        "second_call": peers.summary(second),
        "values_checked": all(g == peers.small_value(i) for i, g in enumerate(got)),
    }


def cold_ms(code, reps):
    """Median wall time of `python -c code` (a fresh interpreter each time), in ms."""
    times = []
    for _ in range(reps):
        t = time.perf_counter()
        subprocess.run([sys.executable, "-c", code], check=True)
        times.append((time.perf_counter() - t) * 1e3)
    return round(statistics.median(times), 2)


def w6(args):
    reps = 3 if args.quick else 7
    ours = tempfile.mkdtemp(prefix="py-w6-", dir=args.dir)
    with cacheness.Cache(ours) as cache:
        cache.put(peers.small_value(1), **params(1))
    theirs = tempfile.mkdtemp(prefix="py-w6-diskcache-", dir=args.dir)
    store = peers.open_store("diskcache", theirs)
    store.set(peers.w1_key("diskcache", 1), peers.small_value(1))
    store.close()
    get = (f"import cacheness; v = cacheness.Cache({ours!r}).get(model={peers.W1_MODEL!r}, "
           f"dataset={peers.W1_DATASET!r}, i=1); assert v is not None")
    peer = (f"import diskcache; v = diskcache.Cache({theirs!r}).get("
            f"({peers.W1_MODEL!r}, {peers.W1_DATASET!r}, 1)); assert v is not None")
    return {
        "bare_python_ms": cold_ms("pass", reps),
        "cacheness_get_ms": cold_ms(get, reps),
        "diskcache_get_ms": cold_ms(peer, reps),
    }


def w7_child(args):
    cache = cacheness.Cache(args.w7_dir)
    print("ready", flush=True)
    sys.stdin.readline()
    put, _ = peers.collect(args.n, lambda i: cache.put(peers.small_value(i),
                                                       **params(i, args.proc)))
    ok = all(cache.get(**params(i, args.proc)) == peers.small_value(i) for i in range(args.n))
    cache.close()
    print(json.dumps({"put": peers.summary(put), "read_back_ok": ok}), flush=True)


def w7(args):
    n = 200 if args.quick else 1_000
    location = tempfile.mkdtemp(prefix="py-w7-", dir=args.dir)
    cacheness.Cache(location).close()
    reports, wall = peers.race_children(
        [sys.executable, os.path.abspath(__file__), "--dir", args.dir, "--w7-dir", location,
         "--proc", str(p), "--n", str(n)]
        for p in range(PROCESSES))
    with cacheness.Cache(location) as cache:
        listed = len(cache.list_entries())
    return {
        "per_process": reports,
        "wall_s": round(wall, 4),
        "entries_per_s": round(PROCESSES * n / wall, 1),
        "put_p99_max_us": max(r["put"]["p99_us"] for r in reports),
        "listed": listed,
        "all_present": listed == PROCESSES * n and all(r["read_back_ok"] for r in reports),
    }


def rust(args, workload):
    """The Rust API's figures for a workload (`cacheness-bench --only W`), in this run."""
    if not args.rust_bench:
        return None
    out = os.path.join(args.dir, f"rust-{workload}.json")
    cmd = [args.rust_bench, "--only", workload, "--dir", args.dir, "--json-out", out]
    if args.quick:
        cmd.append("--quick")
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
    with open(out) as f:
        return json.load(f)[0]["figures"]


def get(d, *path):
    for p in path:
        if d is None:
            return None
        d = d[p] if isinstance(p, int) else d.get(p)
    return d


def rows(results):
    """(workload, figure, ours, peer name, peer's, times better, target) for every figure."""
    r = results
    lower = lambda ours, theirs: None if not ours or not theirs else round(theirs / ours, 3)
    higher = lambda ours, theirs: None if not ours or not theirs else round(ours / theirs, 3)
    out = []
    for fig, key, target in (("put p50 µs", "put", "≥ 1 (≤ diskcache)"),
                             ("get-hit p50 µs", "get_hit", "≥ 2 (≤ ½ diskcache)"),
                             ("get-miss p50 µs", "get_miss", "")):
        ours, theirs = get(r, "W1", "ours", key, "p50_us"), get(r, "W1", "diskcache", key,
                                                                 "p50_us")
        out.append(("W1", fig, ours, "diskcache", theirs, lower(ours, theirs), target))
    for i in range(3):
        label = get(r, "W2", "ours", "arrays", i, "array")
        for op in ("put", "get"):
            ours = get(r, "W2", "ours", "arrays", i, f"{op}_mb_s")
            theirs = get(r, "W2", "joblib", "arrays", i, f"{op}_mb_s")
            out.append(("W2", f"{label} {op} MB/s", ours, "joblib", theirs,
                        higher(ours, theirs), "≥ 1"))
            rust_ = get(r, "W2", "rust", "arrays", i, f"{op}_mb_s")
            out.append(("W2", f"{label} {op} MB/s", ours, "Rust API", rust_,
                        higher(ours, rust_), "≥ 0.9"))
    for name in ("polars", "pandas"):
        for op in ("put", "get"):
            ours = get(r, "W3", "ours", name, f"{op}_ms")
            theirs = get(r, "W3", "polars", f"{op}_ms")
            out.append(("W3", f"{name} frame {op} ms", ours, "polars", theirs,
                        lower(ours, theirs), "≥ 1"))
            rust_ = get(r, "W3", "rust", f"{op}_ms")
            out.append(("W3", f"{name} frame {op} ms", ours, "Rust API", rust_,
                        lower(ours, rust_), "≥ 0.9"))
    ours, theirs = (get(r, "W5", "ours", "second_call", "p50_us"),
                    get(r, "W5", "diskcache", "second_call", "p50_us"))
    out.append(("W5", "memoized hit p50 µs", ours, "diskcache", theirs, lower(ours, theirs),
                "≥ 2 (≤ ½ diskcache)"))
    bare = get(r, "W6", "ours", "bare_python_ms")
    ours = get(r, "W6", "ours", "cacheness_get_ms")
    bound = None if bare is None else round(2 * bare + 30, 2)
    out.append(("W6", "cold get ms", ours, "2×python+30", bound, lower(ours, bound), "≥ 1"))
    out.append(("W6", "cold get ms", ours, "diskcache", get(r, "W6", "ours", "diskcache_get_ms"),
                lower(ours, get(r, "W6", "ours", "diskcache_get_ms")), ""))
    ours, theirs = (get(r, "W7", "ours", "entries_per_s"),
                    get(r, "W7", "diskcache", "entries_per_s"))
    out.append(("W7", "entries/s, 8 processes", ours, "diskcache", theirs, higher(ours, theirs),
                "≥ 1, all present"))
    return out


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dir", required=True)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--only", default="W1,W2,W3,W5,W6,W7")
    parser.add_argument("--rust-bench", help="the release cacheness-bench, for W2/W3 vs Rust")
    parser.add_argument("--json-out")
    parser.add_argument("--w7-dir", help=argparse.SUPPRESS)
    parser.add_argument("--proc", type=int, default=0, help=argparse.SUPPRESS)
    parser.add_argument("--n", type=int, default=1_000, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.w7_dir:
        return w7_child(args)
    os.makedirs(args.dir, exist_ok=True)
    only = set(args.only.split(","))
    results = {}
    if "W1" in only:
        results["W1"] = {"ours": w1(args), **peers.w1(args)}
    if "W2" in only:
        results["W2"] = {"ours": w2(args), **peers.w2(args), "rust": rust(args, "W2")}
    if "W3" in only:
        results["W3"] = {"ours": w3(args), **peers.w3(args), "rust": rust(args, "W3")}
    if "W5" in only:
        results["W5"] = {"ours": w5(args), **peers.w5(args)}
    if "W6" in only:
        results["W6"] = {"ours": w6(args)}
    if "W7" in only:
        results["W7"] = {"ours": w7(args), **peers.w7(args)}
    table = rows(results)
    results["ratios"] = [dict(zip(("workload", "figure", "ours", "peer", "theirs",
                                   "ours_times_better", "target"), row)) for row in table]
    results["versions"] = {"cacheness": cacheness.__version__, "python": sys.version.split()[0]}
    print(f"{'':4}  {'figure':26}  {'peer':12}  {'ours':>12}  {'peer':>12}  {'× better':>9}  target")
    for w, fig, ours, peer, theirs, better, target in table:
        if ours is None and theirs is None:
            continue
        print(f"{w:4}  {fig:26}  {peer:12}  {ours!s:>12}  {theirs!s:>12}  {better!s:>9}  "
              f"{target}")
    if args.json_out:
        with open(args.json_out, "w") as f:
            json.dump(results, f, indent=1)


if __name__ == "__main__":
    main()
